"""Goroutine scheduler (Go: runtime/proc.go).

The design is Go's G-M-P model on greenlets:

- G: a goroutine, a greenlet plus Go's bookkeeping (g.py).
- M: an OS thread. M0 is the thread that started the runtime. Each M has a
  g0, a scheduler greenlet on a shallow C stack from which new goroutine
  greenlets are started: a greenlet started from inside another goroutine
  would chain C stacks (RecursionError after about 500 nested starts).
- P: the right to run goroutines: a local run queue, timers, counters.

One round of scheduling (``schedule``) finds a runnable G and switches to it.
Unlike Go, the round runs on the greenlet of the G that is giving up the
processor, and switches straight to the next G: going through g0 would cost
a second greenlet switch per hand-off, and a switch is most of a channel
operation's price. g0 is entered only to start a G that has no greenlet yet.

Every blocking operation is ``gopark`` (park the current G and schedule)
answered by exactly one ``goready`` (make it runnable again, in ``runnext``
so a hand-off runs promptly). Finished Gs go to a per-P free list with their
greenlet still alive in ``gmain``'s loop, and are reused by ``newproc``
(Go: gfput/gfget): starting a goroutine then costs a switch, not a new
greenlet. When the G that runs next after a goroutine finishes has never
run, it takes the finished one's greenlet over instead (``execute``) and
the finished G goes to the free list without one: no greenlet is made and
no switch happens (spawn+finish, measured: 8.0 -> 2.7 us). With the C core
loaded, gort.go's newproc and the exit path after a goroutine's function returns
(``goexit_core``) run in C (gort._core); gmain's loop stays here, its frame the
base that the preemption walk stops at.

Time slices: ``execute`` bumps ``pp.schedtick`` and stamps ``pp.schedwhen``
unless the G inherits the slice (it came from ``runnext``), as Go does, so
two goroutines ping-ponging through runnext share one slice and sysmon can
still preempt the pair.

When nothing is runnable the M sleeps in the netpoller until a socket is
ready, the next timer or an outside wake-up (an offloaded call finishing);
with none of these possible, no goroutine can ever run again: ``checkdead``
reports the deadlock.

Rejected: a g0-centred loop (every park switches to g0, g0 picks the next G)
as in Go; it is simpler but doubles the switches on the hottest path.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import signal
import sys
import threading
from collections.abc import Callable
from ctypes import get_errno, set_errno
from itertools import repeat as _repeat
from itertools import starmap as _starmap
from time import monotonic_ns
from typing import Any, NoReturn

from greenlet import GreenletExit, getcurrent, greenlet

from . import abandon
from . import sched as _sched
from .debug import initial_gomaxprocs, read_env, read_seed
from .error import Deadlock, Finalizing, NotInGoroutine, throw
from .g import CANCELLED, SYSTEM_GOID_BASE, G, Gstatus, WaitReason
from .lock_futex import mutex
from .m import M
from .p import RUNQ_SIZE, P, Pstatus
from .sched import Sched
from .stack import thread_tracing_now
from .timers import Timers
from .traceback import creator_of, goroutine_block, goroutine_dump, panic_block

_get_ident = threading.get_ident
_RUNNABLE = Gstatus.RUNNABLE
_RUNNING = Gstatus.RUNNING
_WAITING = Gstatus.WAITING
_DEAD = Gstatus.DEAD
_NOREASON = WaitReason.ZERO
_gc_get_count = gc.get_count

# Fast hand-offs between two looks at the collector's count (gcpoll).
GCPOLL = 64

# Gs kept on a P's free list; beyond this a finished G's greenlet is let die.
_GFREE_MAX = 4096


# ---------------------------------------------------------------------------
# Finding the current G


RUNTIME_DEPTH = 16
"""Python frames a gort call that does not switch may push (Go's stack guard): with less
recursion budget left it raises RecursionError before it changes anything."""

PARK_DEPTH = 48
"""Python frames a switch may push (gopark and schedule, timers, finalizers on the way):
a goroutine parks, yields or is preempted only with this much budget left."""


def getg() -> G:
    """The running goroutine. Starts the runtime implicitly on the main thread.

    Every gort operation starts here, before it changes any state, so this is
    where the recursion budget is checked (``RUNTIME_DEPTH``): a RecursionError
    in the middle of the runtime's own calls would leave a sudog queued or a G
    half-readied (a receiver reported as "chan send", values lost).
    """
    s = _sched.current
    if s is not None:
        mp = s.m0
        if mp.tid == _get_ident():
            gp = mp.curg
            # teardown clears curg: no test of s.closing needed here
            if gp is not None and s.depth_left.value > RUNTIME_DEPTH:
                return gp
    return _getg_slow(s)


starting: set[int] = set()
"""The threads starting a runtime (the implicit start, gort.run's until main runs): a gort
call from a signal handler or finalizer run there gets error.Finalizing (``_getg_slow``)."""

_NON_BLOCKING = ("only select with gort.default, close, WaitGroup.add/done, "
                 "Mutex/RWMutex.unlock, try_lock, Once.done, Cond.signal/broadcast, "
                 "Semaphore.release, Timer/Ticker.stop and context cancels work then")


def _getg_slow(s: Sched | None) -> G:
    if starting and _get_ident() in starting:
        # A signal handler or finalizer run between two bytecodes of a start on this
        # thread (CPython runs them wherever the main thread is). Starting again
        # re-entered the start (a self-deadlock on _start_lock, or a second runtime
        # half-built inside the first); a half-built runtime has no goroutine to wait
        # in or wake yet, so the non-blocking operations complete against the channel
        # alone, as at exit.
        raise Finalizing(
            "gort: called from a signal handler or finalizer while the runtime is "
            "starting on this thread; no goroutine runs yet to wait in or to wake: "
            + _NON_BLOCKING)
    if s is None:
        if sys.is_finalizing():
            # A finalizer at interpreter exit: no runtime can start any more. The
            # non-blocking operations catch this and finish without one (select.py).
            raise Finalizing(
                "gort: the interpreter is shutting down; a finalizer that runs at exit "
                "cannot start a runtime, a goroutine or wait (no goroutine is left): "
                + _NON_BLOCKING)
        if abandon.reaping:
            # A finalizer run by releasing what an ended run abandoned: the same.
            raise Finalizing(
                "gort: called from a finalizer while gort releases the goroutines an "
                "earlier run abandoned; no runtime is running there and no goroutine is "
                "left to wait for: " + _NON_BLOCKING)
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "gort: no runtime is running on this thread; start one with "
                "gort.run(main), or call gort from the main thread to start one implicitly"
            )
        from .rt0 import implicit_start  # the one upward reference: bootstrap (Go: rt0)

        me = _get_ident()
        starting.add(me)
        try:
            return implicit_start()
        finally:
            starting.discard(me)
    if s.m0.tid != _get_ident():
        # Non-blocking operations catch this and run on the M instead (cgocall.py).
        raise NotInGoroutine(
            s,
            f"gort: a blocking call was made from thread "
            f"{threading.current_thread().name!r}, which runs no goroutines and cannot "
            f"park (the runtime runs on thread {s.m0.tid}). From another thread, use the "
            "non-blocking operations (select with gort.default, close, gort.go, "
            "Timer.stop, WaitGroup.done, Mutex.unlock), which run on the runtime's "
            "thread; start blocking work as a goroutine with gort.go, or hand results to "
            "goroutines with gort.offload."
        )
    if s.closing:
        # Every goroutine is abandoned already: as at interpreter exit.
        raise Finalizing(
            "gort: the run is ending (teardown is in progress); a signal handler or "
            "finalizer running now cannot start a goroutine or wait (no goroutine is "
            "left): " + _NON_BLOCKING)
    if s.m0.curg is not None:
        raise short_of_depth(s, RUNTIME_DEPTH)
    raise RuntimeError(
        "gort: called outside any goroutine (from the scheduler or a signal handler)")


def no_goroutine_left() -> bool:
    """getg's checks, for a non-blocking operation: True if no goroutine is left to wake
    (error.Finalizing: a finalizer at interpreter exit, during a run's teardown or while
    its abandoned goroutines are released), False from a goroutine; raises what getg
    raises otherwise."""
    try:
        getg()
    except Finalizing:
        return True
    return False


def short_of_depth(s: Sched, need: int) -> RecursionError:
    """The error for a gort call made too close to the recursion limit (see RUNTIME_DEPTH)."""
    return RecursionError(
        f"maximum recursion depth exceeded (gort: this call needs {need} frames of the "
        f"recursion limit, {sys.getrecursionlimit()}, and {max(s.depth_left.value, 0)} "
        "were left; recurse less, or raise sys.setrecursionlimit)")


def running() -> Sched | None:
    """The running runtime, or None (does not start one)."""
    return _sched.current


def current_sched() -> Sched:
    """The runtime of the calling goroutine, with getg's checks (and implicit start)."""
    getg()
    s = _sched.current
    assert s is not None
    return s


# ---------------------------------------------------------------------------
# Run queues (Go: runqput, runqget, globrunqput, globrunqget, runqsteal)


def runqput(s: Sched, pp: P, gp: G, next_: bool) -> None:
    """Put gp on pp's local queue; with next_, in runnext (the old runnext goes to the tail)."""
    if next_:
        old = pp.runnext
        pp.runnext = gp
        if old is None:
            return
        gp = old
    t = pp.runqtail
    if t - pp.runqhead < RUNQ_SIZE:
        pp.runq[t % RUNQ_SIZE] = gp
        pp.runqtail = t + 1
        return
    runqputslow(s, pp, gp)


def runqputslow(s: Sched, pp: P, gp: G) -> None:
    """Local queue full: move half of it, and gp, to the global queue (Go: runqputslow)."""
    h = pp.runqhead
    n = (pp.runqtail - h) // 2
    runq = pp.runq
    # The ring's oldest half, in order, by slices (one more where it wraps).
    i = h % RUNQ_SIZE
    j = min(i + n, RUNQ_SIZE)
    batch = runq[i:j]
    runq[i:j] = [None] * (j - i)
    k = n - (j - i)
    if k:
        batch += runq[:k]
        runq[:k] = [None] * k
    pp.runqhead = h + n
    batch.append(gp)
    with s.lock:
        s.runq.extend(batch)  # type: ignore[arg-type]


def runqget(pp: P) -> tuple[G | None, bool]:
    """Next G from pp: runnext (inherits the time slice), else the ring's head."""
    gp = pp.runnext
    if gp is not None:
        pp.runnext = None
        return gp, True
    h = pp.runqhead
    if h == pp.runqtail:
        return None, False
    i = h % RUNQ_SIZE
    gp = pp.runq[i]
    pp.runq[i] = None
    pp.runqhead = h + 1
    return gp, False


def globrunqput(s: Sched, gp: G) -> None:
    """Put gp at the back of the global run queue."""
    with s.lock:
        s.runq.append(gp)


def globrunqget(s: Sched, pp: P, max_: int) -> G | None:
    """Take a batch from the global queue: return one G, put the rest on pp (Go: globrunqget)."""
    with s.lock:
        size = len(s.runq)
        if size == 0:
            return None
        n = min(size, size // len(s.allp) + 1)
        if max_ > 0:
            n = min(n, max_)
        n = min(n, RUNQ_SIZE // 2) - 1
        q = s.runq
        gp = q.popleft()
        t = pp.runqtail
        if t - pp.runqhead + n <= RUNQ_SIZE:
            # The batch fits the ring (always, when the ring is empty): runqput's writes
            # without a call per G (spawn + finish: most Gs come back this way).
            # by slices, the deque's pops made in C (one more where the ring wraps).
            runq = pp.runq
            i = t % RUNQ_SIZE
            j = min(i + n, RUNQ_SIZE)
            runq[i:j] = _starmap(q.popleft, _repeat((), j - i))
            if i + n > j:
                runq[:i + n - j] = _starmap(q.popleft, _repeat((), i + n - j))
            pp.runqtail = t + n
            return gp
        batch = [q.popleft() for _ in range(n)]
    for g2 in batch:
        runqput(s, pp, g2, False)
    return gp


def runqsteal(s: Sched, pp: P) -> G | None:
    """Steal half of another P's queue (Go: stealWork/runqsteal), starting at a random P."""
    allp = s.allp
    n = len(allp)
    start = s.rand.randrange(n)
    for i in range(n):
        p2 = allp[(start + i) % n]
        if p2 is pp:
            continue
        count = p2.runqtail - p2.runqhead
        if count == 0:
            if p2.runnext is not None:
                gp = p2.runnext
                p2.runnext = None
                return gp
            continue
        take = count - count // 2
        first: G | None = None
        for _ in range(take):
            g2, _inherit = runqget(p2)
            if first is None:
                first = g2
            elif g2 is not None:
                runqput(s, pp, g2, False)
        return first
    return None


# ---------------------------------------------------------------------------
# One round of scheduling


def find_runnable(s: Sched, mp: M, pp: P) -> tuple[G, bool]:
    """Find a runnable goroutine to execute; block until there is one (Go: findRunnable).

    Returns the G and whether it inherits the current time slice.
    """
    timers = pp.timers
    while True:
        # 0. Signal handlers caught in gort's own code: a goroutine runs them (sigqueue.py),
        # before the timers below ready anyone, as CPython runs a handler before the code
        # after the check that noticed the signal.
        if s.sigq and s.sigstart is not None:
            s.sigstart()  # the handler goroutine, next in line
            gp = pp.runnext
            if gp is not None:
                pp.runnext = None
                return gp, True
        # 1. Offloaded calls that finished (Go: injectglist), and sockets that sysmon
        # found ready (Go: sysmon's netpoll results).
        if s.injectq:
            inject(s, pp)
        if s.netpoll.pending:
            glist: list[G] = []
            s.netpoll.take_pending(glist)
            injectglist(s, pp, glist)
        # 2. Expired timers.
        if timers.heap and timers.heap[0][0] <= monotonic_ns():
            timers.run(monotonic_ns())
        # 2b. A collection is due, or references wait to be dropped: ready the
        # finalizer goroutine (mfinal.py), which runs next.
        fq = s.finq
        if fq is not None and (fq.trash or _gc_get_count()[0] > s.gctrigger):
            fq.wake()
        # 3. runnext: it inherits the current slice, so it cannot extend it (unless it is
        # the G that just parked, its own slice over: slice_over_at_park).
        gp = pp.runnext
        if gp is not None:
            pp.runnext = None
            if gp is not mp.curg or monotonic_ns() - pp.schedwhen < s.debug.preempt_ns:
                return gp, True
            slice_over_at_park(s, gp)
        # 4. Fairness: every 61st schedtick, the global queue before the local ring
        # (Go: schedule's %61). Go checks this before runnext too; measured, that made
        # a G just readied by its timer wait one more full slice once every 61 (a 1 ms
        # sleeper among spinners: p99 19 ms, Go's own 39.5 ms). After runnext, the
        # global queue still waits at most the one slice that runnext inherits.
        if s.runq and pp.schedtick % 61 == 0:
            gp = globrunqget(s, pp, 1)
            if gp is not None:
                return gp, False
        # 5. The local ring.
        gp, inherit = runqget(pp)
        if gp is not None:
            return gp, inherit
        # 6. The global queue.
        if s.runq:
            gp = globrunqget(s, pp, 0)
            if gp is not None:
                return gp, False
        # 7. Steal from the other Ps, after a look at the network (Go: findRunnable's
        # netpoll(0)). With one P the look is left to the blocking poll below.
        if len(s.allp) > 1:
            if s.netpoll.nwait:
                glist = s.netpoll.poll(0.0)
                if glist:
                    injectglist(s, pp, glist)
                    continue
            gp = runqsteal(s, pp)
            if gp is not None:
                return gp, False
        # 8. Nothing to run: sleep in the netpoller until a socket is ready, the next
        # timer, or an outside wake-up. A goroutine in IO wait is a possible wake-up.
        when = timers.next_when()
        delay = None if when is None else (when - monotonic_ns()) / 1e9
        if ((when is None or timers.only_weak()) and not s.noffload and not s.injectq
                and not (s.siginuse and s.sigqueue.notify_awaited())
                and not s.netpoll.nwait):
            recheck = checkdead(s)
            if recheck is None:
                continue  # a contained run: checkdead readied main with the Deadlock
            delay = recheck if delay is None else min(delay, recheck)
        try:
            glist = park_idle(s, pp, delay)
        except BaseException as e:
            # A signal handler raised (Ctrl-C) while no goroutine ran. It belongs to
            # the main goroutine, as CPython's belong to the main thread, and never to
            # the G on whose stack this round happens to run.
            idle_raise(s, e)
            continue
        if glist:
            injectglist(s, pp, glist)


def slice_over_at_park(s: Sched, gp: G) -> None:
    """gp parked and was readied in the same scheduling round (its timer was due by the
    time it parked) with its time slice used up: it is stopped there, as at a
    synchronous safe point, and goes to the global queue behind the others (Go:
    gopreempt_m), where it would have inherited its own slice once more from runnext.

    Go has no such test: its sysmon asks the G to stop, and the G's code reaches a
    safe point with the request still set. Here a G can spend most of its time inside
    the runtime's own Python code between that check and the park (under a costly
    trace function, every line of ``gort.sleep`` runs it): each request landed there,
    and the park's switch (execute) cleared it. A 1 ms sleeper whose every sleep
    outlasted its timer thus kept the P for good, its slice never ending (schedtick
    never moved); four runnable spinners never started (settrace_starve.py 1000: 1 run
    in 10 to 1 in 40, 3.11 and 3.13).
    """
    s.stats.preempt_sync += 1
    globrunqput(s, gp)


def park_idle(s: Sched, pp: P, delay: float | None) -> list[G]:
    """Release pp and sleep in the netpoller (Go: stopm + netpoll(delay)).

    Returns the goroutines whose sockets became ready, not yet readied. The
    P comes back with a new time slice (``schedtick`` bumped, ``schedwhen``
    stamped): the G it runs next has not been running, even if it inherits
    the slice (a G readied by its timer comes from runnext). Without this a
    goroutine that parked thousands of times in short waits, the P idle in
    between, never moved the tick, and sysmon reported it as running for
    seconds without yielding (and asked it to stop at once after each idle).
    """
    mp = s.m0
    prev = mp.curg
    mp.curg = None
    with s.lock:
        pp.status = Pstatus.IDLE
        s.npidle += 1
    try:
        return s.netpoll.poll(delay)
    finally:
        with s.lock:
            # schedwhen first, as in execute: sysmon reads them racily.
            pp.schedwhen = monotonic_ns()
            pp.schedtick += 1
            pp.status = Pstatus.RUNNING
            s.npidle -= 1
            wake = s.sysmonwait
            s.sysmonwait = False
        if wake:
            s.sysmonnote.wakeup()
        mp.curg = prev


def idle_raise(s: Sched, exc: BaseException) -> None:
    """Deliver an exception raised in the idle wait to the main goroutine."""
    main_g = s.main_g
    if main_g is None or main_g.status in (Gstatus.DEAD, Gstatus.IDLE):
        end_with(s, exc)
    goraise(main_g, exc)


def injectglist(s: Sched, pp: P, glist: list[G]) -> None:
    """Make goroutines the netpoller unblocked runnable, at the tail (Go: injectglist)."""
    tr = s.tracer
    if tr is None:
        # runqput inlined: one call fewer per goroutine the poller readies
        runq = pp.runq
        for gp in glist:
            gp.status = _RUNNABLE
            t = pp.runqtail
            if t - pp.runqhead < RUNQ_SIZE:
                runq[t % RUNQ_SIZE] = gp
                pp.runqtail = t + 1
            else:
                runqputslow(s, pp, gp)
        return
    for gp in glist:
        gp.status = _RUNNABLE
        tr.go_unblock(pp, gp)
        runqput(s, pp, gp, False)


def inject(s: Sched, pp: P) -> None:
    """Make Gs readied from other threads runnable (Go: injectglist).

    Three kinds come through ``injectq``: offloaded calls that finished (each
    counts ``noffload`` down), Gs that ``ready_foreign`` readied (a thread lock
    released by another thread), and calls made from other threads
    (cgocall.Callback, ``foreign``), each started here as a system goroutine.
    """
    sigs = s.sigqueue
    if sigs is not None:
        sigs.alarm_idle_since = None  # a thread's call may change what a handler does
    with s.lock:
        done = list(s.injectq)
        s.injectq.clear()
        s.noffload -= sum(1 for e in done if not isinstance(e, tuple) and not e.foreign)
    for item in done:
        if isinstance(item, tuple):  # (gp, token) from ready_foreign
            gp, token = item
            if gp.status is not _WAITING or gp.waiting is not token:
                continue  # goraise cancelled that wait meanwhile (gp may wait on another)
        elif item.foreign:
            newproc_system(s, item.run, (s,))  # type: ignore[union-attr]
            continue
        else:  # an offloaded call that finished
            g2 = item.g  # type: ignore[union-attr]
            if g2 is None:
                # Its G stopped waiting (goraise): nobody wants the outcome. Dropping it
                # here could run a finalizer in the middle of a scheduling round; the
                # finalizer goroutine drops it (mfinal.py).
                s.finq.trash.append(item)
                continue
            item.g = None  # type: ignore[union-attr]
            gp = g2
        gp.status = _RUNNABLE
        if s.tracer is not None:
            s.tracer.go_unblock(pp, gp)
        runqput(s, pp, gp, False)


def schedule(s: Sched, mp: M, prev: G, why: str | None = None) -> None:
    """One round of scheduling: run another G (or prev again). Returns when prev runs again.

    prev is the G on whose greenlet this runs; it has already been parked,
    queued, or marked dead by the caller; ``why`` says why it stopped, for the
    tracer, where its status does not (a preemption).
    """
    pp = mp.p
    assert pp is not None
    tr = s.tracer  # the one test a scheduling round pays while tracing is off
    if tr is None and mp.armed is None and not mp.locks:
        # Fast paths, most hand-offs: find_runnable's first steps have nothing to do,
        # so it would return runnext or the local ring's head: execute it here.
        # runnext (no finished offload, no timer), which inherits the slice: measured,
        # four calls fewer per channel hand-off. The ring's head (nothing queued that
        # find_runnable would take first: no finished offload, socket found by sysmon,
        # signal, global run queue, finalizer work, due timer), which starts a slice:
        # every goroutine the netpoller readied comes this way (measured with the
        # inlined injectglist: 500 echo connections, 9.1 -> 8.0 us of server CPU per
        # round trip, docs/net.md).
        gp = pp.runnext
        if gp is not None:
            if s.injectq or pp.timers.heap or not (pp.gcpoll or gcpoll(s, pp)):
                gp = None
            else:
                pp.runnext = None
        elif (pp.runqhead != pp.runqtail and not s.injectq and not s.netpoll.pending
              and not s.runq and not s.sigq and (pp.gcpoll or gcpoll(s, pp))):
            now = monotonic_ns()
            heap = pp.timers.heap
            fq = s.finq
            if (not heap or heap[0][0] > now) and (fq is None or not fq.trash):
                h = pp.runqhead
                i = h % RUNQ_SIZE
                gp = pp.runq[i]
                pp.runq[i] = None
                pp.runqhead = h + 1
                # schedwhen first, as execute does
                pp.schedwhen = now
                pp.schedtick += 1
        if gp is not None:
            pp.gcpoll -= 1
            gp.status = _RUNNING
            gp.waitreason = _NOREASON
            gp.preempt = False
            if gp is not prev:
                # Muted until prev runs again, as in the slow path below.
                t = s.tcount
                v = t[0]
                t[0] = v + 1
                mp.curg = gp
                cur = getcurrent()
                if cur is not prev.gr:
                    prev.resume = cur  # stopped inside a child greenlet of its own
                gr = gp.resume
                if gr is not None:
                    gp.resume = None
                    gr = hop_to(mp, gr)
                elif gp.gr is None:
                    if prev.status is _DEAD and prev.gr is cur:
                        gp.gr = cur  # adopt prev's greenlet (see execute), no switch
                        prev.gr = None
                        t[0] = v
                        return
                    gr = mp.g0
                else:
                    gr = gp.gr
                try:
                    try:
                        got = gr.switch()  # type: ignore[union-attr]
                    except BaseException as e:
                        if mp.curg is prev:
                            raise
                        foreign_switch(s, mp, prev, e)
                    else:
                        if mp.curg is not prev:
                            foreign_switch(s, mp, prev, got)
                finally:
                    if mp.hop is not None:
                        land(mp)
                    t[0] = v  # last: after it, this frame's lines are traced (below)
            return
    if mp.locks:
        cannot_park(s, prev)
    if tr is not None:
        tr.go_stop(pp, prev, monotonic_ns(), why)
    if mp.armed is not None:
        mp.armed()  # the turn-end hooks (m.py): the preemption hook's disarm, aio.py's
    # Muted from here until prev runs again (execute): find_runnable runs as no
    # goroutine (mp.curg None in the idle wait), and the program's trace function ran
    # on its frames, calling gort there ("called outside any goroutine") or raising in
    # the middle of the round (adversarial round 7, finding 3). After the hooks: on
    # 3.11 sys.settrace while muted leaves CPython's per-call tracing flag off.
    t = s.tcount
    v = t[0]
    t[0] = v + 1
    try:
        try:
            gp, inherit = find_runnable(s, mp, pp)
            if tr is not None:
                tr.go_start(pp, gp, monotonic_ns())
            execute(s, mp, pp, gp, inherit, prev)
        finally:
            st = prev.aio
            if st is not None:
                st.enter()  # prev runs an asyncio loop: its running loop back on the thread
    finally:
        t[0] = v  # last: after it, this frame's lines are traced


def gcpoll(s: Sched, pp: P) -> bool:
    """Every GCPOLL-th fast hand-off: False if a collection is due (take the slow path).

    The fast path skips find_runnable, where a due collection readies the finalizer
    goroutine (mfinal.py); without this a pair ping-ponging through runnext reached
    it only when sysmon preempted them, after a whole slice of allocations (measured:
    7x fewer, 7x bigger collections, +13% per item on an allocating producer/consumer).
    gc.get_count() on every fast hand-off cost +11% per ping-pong round trip (CPU time,
    medians of 9, interleaved with main); every 64th about +2%, and it delays a
    collection by at most 64 hand-offs.
    """
    pp.gcpoll = GCPOLL
    return _gc_get_count()[0] <= s.gctrigger


def execute(s: Sched, mp: M, pp: P, gp: G, inherit: bool, prev: G | None) -> None:
    """Switch to gp (Go: execute). Returns when prev is switched back to.

    Called muted (schedule; start_main and _goexit switch nowhere here): from the
    moment ``mp.curg`` names gp until prev runs again the code runs on prev's stack
    (or g0's, then gp's gmain until it starts gp's function), and a profile, trace or
    monitoring callback there would run as gp (an RLock prev holds found foreign,
    gp's ``threading.local`` values, the wrong identity). The caller raised the
    thread's tracing counter by one (``Sched.tcount``, as
    ``PyThreadState_EnterTracing`` would) and puts back its own value when the switch
    returns. The goroutine switched to does the same where it resumes (in schedule,
    in the C core's park and goexit) or, never run, lowers it by one in gmain: each
    goroutine resumes with its own tracing state (greenlet keeps none).
    """
    mp.curg = gp
    gp.status = _RUNNING
    gp.waitreason = WaitReason.ZERO
    gp.preempt = False
    if not inherit:
        # schedwhen first: sysmon, reading racily, must never pair a new tick with the
        # previous slice's start (it would preempt the new slice early).
        pp.schedwhen = monotonic_ns()
        pp.schedtick += 1
    if gp is prev:
        return
    cur = getcurrent()
    if prev is not None and cur is not prev.gr:
        prev.resume = cur  # stopped inside a child greenlet of its own
    gr = gp.resume
    if gr is not None:
        gp.resume = None
        gr = hop_to(mp, gr)
    elif gp.gr is None:
        # gp never ran. If prev just finished on this greenlet (goexit, in gmain's loop),
        # gp takes the greenlet over and prev goes to the free list without one: gmain's
        # loop runs gp's function next (it reads mp.curg), with no new greenlet and no
        # switch (issue 13: spawn+finish 8.1 -> 2.6 us). Otherwise g0 starts gp on a
        # greenlet of its own, on g0's shallow C stack. (Inline, not a helper: one frame
        # more between the switches confused coverage's tracer.)
        if prev is not None and prev.status is _DEAD and prev.gr is cur:
            gp.gr = cur
            prev.gr = None
            return
        gr = mp.g0  # it starts mp.curg (g0_main)
    else:
        gr = gp.gr
    try:
        try:
            got = gr.switch()  # type: ignore[union-attr]
        except BaseException as e:
            if prev is None or mp.curg is prev:
                raise
            foreign_switch(s, mp, prev, e)
        else:
            if prev is not None and mp.curg is not prev:
                foreign_switch(s, mp, prev, got)
    finally:
        # Still muted (the caller's store comes after): a trace function raising here
        # raised inside the scheduler (adversarial round 6, R3: the finalizer goroutine
        # died of it).
        if mp.hop is not None:
            land(mp)


def hop_to(mp: M, child: greenlet) -> greenlet:
    """The greenlet to switch to for resuming a goroutine inside ``child``, a greenlet
    of its own it stopped in (G.resume): a new trampoline whose parent is the child.

    Its run returns at once, and a greenlet that ends switches to its parent: so the
    switcher's suspended frame (its local, the value stack of its switch call, the C
    core's switch_to) holds the dead trampoline, never the child. Switching to the
    child directly kept it referenced for as long as the switcher stayed parked (a
    goroutine that finished right after releasing a Lock waits on the free list for
    its next goroutine): a child the program then dropped was never freed, its
    ``finally`` never ran, and a Lock it held stayed held (adversarial round 4, B7).
    The trampoline's own link to the child is cut where the switch lands (``land``).
    Go has no counterpart (a goroutine has one stack).
    """
    hop = greenlet(hop_run, child)
    mp.hop = hop
    return hop


def hop_run() -> None:
    """A trampoline's run (hop_to): ends at once, its parent (the child) switched to."""


def land(mp: M) -> None:
    """Where a switch resumes: cut the dead trampoline's link to the child (hop_to)."""
    hop = mp.hop
    mp.hop = None
    if hop is not None:
        hop.parent = mp.g0


def foreign_switch(s: Sched, mp: M, me: G, got: Any) -> None:
    """me's greenlet, parked in the scheduler, was switched to by the program: a greenlet
    that me created (its parent) finished or raised after another goroutine switched
    into it, or the program switched to me's greenlet itself. ``got`` is what the switch
    returned (or the exception it raised).

    The goroutine running is still ``mp.curg``: the one whose code made the switch that
    ended here. Greenlet hands a finished greenlet's value to its parent; under gort a
    goroutine's greenlet runs other goroutines too (the free list) and parks inside the
    scheduler, so the parent is not where the value belongs: it goes to the running
    goroutine's greenlet, where that goroutine switched from (issue 8 rule 6, adversarial
    F5: the value was lost, or the parked goroutine ran in the running one's place, and
    a false deadlock ended the program). me goes on waiting to be scheduled.
    Teardown releasing me (abandon.reap's GreenletExit) is no such switch, whether it
    comes first or while me waits in here.
    """
    while mp.curg is not me and not abandon.reaping:
        gp = mp.curg
        target = gp.resume or gp.gr if gp is not None else None
        if target is None or target.dead or target is getcurrent():
            raise throw(f"goroutine {me.goid}'s greenlet was switched to by the program "
                        f"while it waited to be scheduled, and the running goroutine "
                        f"{gp.goid if gp is not None else '?'} has no greenlet to take "
                        f"what came with it ({got!r})")
        try:
            got = target.throw(got) if isinstance(got, BaseException) else target.switch(got)
        except BaseException as e:
            got = e
    if isinstance(got, BaseException):
        try:
            raise got
        finally:
            del got  # else this frame and the traceback keep each other (and the unwound
            # goroutine's frames) alive past the reaping: finalizers ran late


def cannot_park(s: Sched, gp: G) -> NoReturn:
    """gp asked to block while its M may not switch (``m.locks``): undo it and raise.

    The only holder of ``m.locks`` is a signal handler running on gp's stack
    (sigqueue.py): gp is in the middle of something else, and the handler
    must return before gp can go on. gp is taken off whatever its park
    registered (as goraise does) and stays running.
    """
    st = gp.status
    what = str(gp.waitreason) or "gosched"
    if st is _WAITING or st is Gstatus.SYSCALL:
        w = gp.waiting
        gp.waiting = None
        if w is not None:
            w.cancel(gp)
    elif st is _RUNNABLE:
        with s.lock:
            s.runq.remove(gp)  # gosched queued it
    gp.status = _RUNNING
    gp.waitreason = _NOREASON
    raise RuntimeError(
        f"gort: a blocking call ({what}) in a signal handler; a handler runs between two "
        "instructions of the interrupted goroutine and cannot park. Use a non-blocking "
        "operation (gort.select with gort.default on a buffered channel), start a goroutine "
        "with gort.go for the blocking work, or receive signals with gort.signal.notify.")


def gopark(gp: G, reason: WaitReason, status: Gstatus = _WAITING, waiting: Any = None) -> None:
    """Park gp (the running G) and schedule others. Returns once goready(gp) ran.

    The caller has already made gp findable by whatever will ready it (a
    channel's wait queue, a timer, a semaphore, an offload worker) and must
    pair this with exactly one goready. ``status`` is WAITING, or SYSCALL for
    a G whose blocking call runs on a worker thread. ``waiting`` is what gp
    waits on, with a ``cancel(gp)`` method that undoes the wait (g.py); None
    only for a wait with nothing to undo.

    Raises the exception ``goraise`` delivered if it cancelled the wait. If
    the wait had completed first (a value was handed over), the exception
    waits for gp's next safe point instead, so the value is not lost.
    """
    s = _sched.current
    assert s is not None
    if s.tracing.value or s.depth_left.value < PARK_DEPTH:
        if waiting is not None:
            waiting.cancel(gp)  # the caller queued gp already: leave nothing behind
        if s.tracing.value:
            no_switch_in_tracing(str(reason) or status.name.lower())
        raise short_of_depth(s, PARK_DEPTH)
    if gp.pending is not None:
        _pending_at_park(gp, waiting)
    if s.park_rlocks:
        s.on_rlock_park(s, gp, reason)  # type: ignore[misc]  # set with park_rlocks
    mp = s.m0
    gp.status = status
    gp.waitreason = reason
    gp.waiting = waiting
    # When the slice it parked in began: no clock read per park, and dumps show waits
    # in minutes, so a slice's worth of error is invisible.
    gp.waitsince = mp.p.schedwhen  # type: ignore[union-attr]
    schedule(s, mp, gp)
    # Cleared here, where gp runs again, not left stale for the next park to overwrite:
    # a stale sudog can hold the last reference to a value or a channel, and the
    # overwrite, in the middle of the next gopark, would run its finalizer there.
    # (gp.param is set only for a select, which clears it: chan.py.)
    w = gp.waiting
    gp.waiting = None
    if gp.pending is not None:
        if w is CANCELLED:
            raise_pending(gp)
        pending_after_wait(gp)


def _pending_at_park(gp: G, waiting: Any) -> None:
    """gopark found an exception goraise left for gp while it ran (a signal handler queued
    to its goroutine, a wait that had completed): this blocking call raises it
    (``waiting`` cancelled first), as CPython raises a handler's exception from a
    blocking call it interrupts. Parked instead, gp
    kept it through any number of waits that never cancel (threading's Condition and
    queue.Queue over gort's locks), and it escaped at a later gort call, outside every
    try (adversarial round 11: Alarm(8) raised after 1,500 iterations). Always raises
    (typed None: a NoReturn call would let mypy take gp.pending for None after the
    park)."""
    if waiting is not None:
        waiting.cancel(gp)  # the caller queued gp already: leave nothing behind
    raise_pending(gp)


def pending_after_wait(gp: G) -> None:
    """gp's wait completed (its value was handed over) with an exception goraise left for
    it: raised soon after, where CPython could have run the handler that raised it, the
    first point where the eval loop checks once the blocking call's line is done (the
    preemption hook, armed on the program's frame that made the call:
    Preempter.arm_after_wait; the line first, so the value is not lost), or else at gp's
    next safe point. Called by gopark and the C core's park.

    Before, always the next safe point: a slice later, when the program had left the
    ``try`` around the call (adversarial round 10, F2: a raising SIGALRM handler's
    exception escaped main's try in most runs at a 50 us slice).
    """
    gp.preempt = True
    s = _sched.current
    if s is not None and s.preempter is not None:
        s.preempter.arm_after_wait(gp, sys._getframe(1))


def raise_pending(gp: G) -> NoReturn:
    """Raise the exception goraise left for gp (the running G); the next waits its turn."""
    exc = gp.pending
    assert exc is not None
    more = gp.pendmore
    if more:
        gp.pending = more.pop(0)
        gp.preempt = True  # raised at gp's next safe point
    else:
        gp.pending = None
    raise exc


def goraise(gp: G, exc: BaseException) -> None:
    """Make gp raise exc where it next runs; a parked gp is taken off its wait and readied.

    No Go analogue (Go has no asynchronous exceptions); this is how an
    exception from a signal handler, or Ctrl-C, reaches the main goroutine
    (CPython raises them in the main thread). A waiting gp's wait is
    cancelled (no sudog stays queued, no timer armed) and gp raises exc from
    the blocking call; a runnable gp raises it where it resumes; a running gp
    (the caller itself) at its next safe point: the caller should raise exc
    itself when it can. A second exception before the first was raised waits
    its turn: it is raised at the safe point after the first, never dropped.
    (Chaining it to the first through ``__context__`` was rejected: raised
    inside an ``except`` clause, CPython overwrites ``__context__``.)
    """
    if gp.pending is None:
        gp.pending = exc
    elif gp.pendmore is None:
        gp.pendmore = [exc]
    else:
        gp.pendmore.append(exc)
    st = gp.status
    if st is _WAITING or st is Gstatus.SYSCALL:
        w = gp.waiting
        if w is not CANCELLED:
            gp.waiting = CANCELLED
            if w is not None:
                w.cancel(gp)
            goready(gp)
    elif st is _RUNNING or st is _RUNNABLE:
        gp.preempt = True
    else:
        raise throw(f"goraise: goroutine {gp.goid} is {st.name}")


def goready(gp: G) -> None:
    """Make a parked G runnable, next in line (Go: goready -> ready)."""
    s = _sched.current
    assert s is not None
    if gp.status is not _WAITING and gp.status is not Gstatus.SYSCALL:
        raise throw(f"goready: bad g status {gp.status.name}")
    gp.status = _RUNNABLE
    pp = s.m0.p
    assert pp is not None
    if s.tracer is not None:
        s.tracer.go_unblock(pp, gp)
    old = pp.runnext  # runqput(next=True), inlined: one call fewer per hand-off
    pp.runnext = gp
    if old is not None:
        runqput(s, pp, old, False)


def ready_foreign(s: Sched, gp: G, token: Any) -> None:
    """Make gp, parked on s's M, runnable from another thread (Go: ready from another M).

    The M picks it up in its next scheduling round (``inject``); ``brk`` wakes
    the M if it sleeps in the netpoller. ``token`` is what gp parked on
    (``gp.waiting``): if goraise cancels that wait before the M gets here,
    inject sees gp no longer waiting on it and leaves gp alone.
    """
    with s.lock:
        s.injectq.append((gp, token))
    s.netpoll.brk()


def gosched(gp: G) -> None:
    """Yield the processor; gp goes to the global queue (Go: Gosched -> goschedImpl)."""
    s = _sched.current
    assert s is not None
    if s.tracing.value:
        no_switch_in_tracing("gosched")
    if s.depth_left.value < PARK_DEPTH:
        raise short_of_depth(s, PARK_DEPTH)
    if s.park_rlocks:
        s.on_rlock_park(s, gp, "gosched")  # type: ignore[misc]  # set with park_rlocks
    gp.status = _RUNNABLE
    globrunqput(s, gp)
    schedule(s, s.m0, gp, "gosched")
    if gp.pending is not None:
        raise_pending(gp)


def gopreempt_m(gp: G, asynchronous: bool, raise_after: bool = True) -> None:
    """Stop gp at a safe point and put it on the global queue (Go: gopreempt_m).

    ``raise_after``: raise an exception goraise left for gp while it was switched out
    (a signal handler's) when it resumes here; False where that spot may not take one
    (the preemption hook right after a call: preempt.py): it stays pending, and
    ``gp.preempt`` makes gp's next safe point raise it."""
    s = _sched.current
    assert s is not None
    if s.m0.locks:
        return  # a signal handler runs on gp's stack (sigqueue.py): never switch there
    if gp.status is not _RUNNING:
        # gp's own switch-out is under way: a callback of the program's ran in it (3.13:
        # a monitoring callback on the turn-end hooks' frames, after the hook's switch
        # had left tracing) and called gort. The nested request armed the hook again
        # inside set_turn_hook's update, which then dropped its turn-end entry: a stale
        # hook, and preemption stalled for 1 s (tracer_calls_gort.py monitoring, 1 run
        # in 12 on 3.13).
        return
    if s.depth_left.value < PARK_DEPTH:
        # Too close to the recursion limit to run the scheduler: the request stays
        # pending, answered once gp's stack is shallower (counted like other deferrals).
        d = s.stats.preempt_deferred
        d[DEPTH_DEFERRED] = d.get(DEPTH_DEFERRED, 0) + 1
        return
    if gp.pending is not None and not s.tracing.value:
        # goraise asked for this safe point: raise, do not switch. Never inside a
        # tracing callback (a profile function calling gort): an exception it raises
        # replaces the one its frame may be unwinding (sigqueue.run_queued_here).
        raise_pending(gp)
    if not asynchronous and s.preempter is not None and s.preempter.sync_deferred(gp):
        return  # C between the G's frames, or a tracing callback: stays pending (preempt.py)
    if s.sigq and s.sigstart is not None:
        s.sigstart()  # signal handlers wait: their goroutine runs next
    how = "async" if asynchronous else "sync"
    if asynchronous:
        s.stats.preempt_async += 1
    else:
        s.stats.preempt_sync += 1
    if s.tracer is not None:
        s.tracer.preempt(s.m0.p, gp, how)
    gp.status = _RUNNABLE
    globrunqput(s, gp)
    # ctypes keeps the errno of a use_errno call per thread: a goroutine preempted between
    # its foreign call and ctypes.get_errno() read another's (adversarial F3). Kept across
    # the preemption (two C calls per preemption; parks, which the program chooses, keep
    # nothing: docs/api.md).
    errno = get_errno()
    schedule(s, s.m0, gp, f"preempted ({how})")
    set_errno(errno)
    if gp.pending is not None:
        if raise_after:
            raise_pending(gp)
        else:
            gp.preempt = True


DEPTH_DEFERRED = "recursion limit near"
"""stats()["preempt_deferred"] key: preemptions put off for want of recursion budget."""


def no_switch_in_tracing(what: str) -> NoReturn:
    """A goroutine tried to block inside a profile/trace/monitoring callback: refuse.

    greenlet does not keep the thread's tracing counter per greenlet, so the
    switch would leave it raised for every other goroutine (no events for
    them, and 3.12+ monitoring silenced).
    """
    raise RuntimeError(
        f"gort: a goroutine cannot block ({what}) inside a profile, trace or "
        "sys.monitoring callback (sys.setprofile, sys.settrace, threading.setprofile, "
        "a sys.monitoring tool): switching goroutines there would leave the thread's "
        "tracing state to the next goroutine. Do only non-blocking gort calls there "
        "(a send with gort.select(..., gort.default)), and block outside the callback."
    )


# ---------------------------------------------------------------------------
# Goroutine creation and exit


def newproc(s: Sched, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
            creator: G | None, system: bool = False) -> G:
    """Create a goroutine running fn(*args, **kwargs), next in line (Go: newproc).

    ``system``: a runtime goroutine (newproc_system).
    """
    pp = s.m0.p
    assert pp is not None
    gfree = pp.gfree
    if gfree:
        gp = gfree.pop()
    else:
        gp = G()
        s.allgs[gp] = None
    if system:
        # Made when the runtime needs one (a collection due, a call from another thread),
        # so at moments that depend on timing: an id of their own keeps the program's
        # goroutine numbers the same from run to run.
        s.sysgoidgen += 1
        gp.goid = SYSTEM_GOID_BASE + s.sysgoidgen
    else:
        s.goidgen += 1
        gp.goid = s.goidgen
    gp.system = system
    gp.fn = fn
    gp.args = args
    gp.kwargs = kwargs
    # As asyncio's tasks: the new G sees its creator's ContextVar values (a copy, so
    # its own sets stay its own). A reused greenlet would otherwise keep the context
    # of the finished goroutine that ran on it before.
    gp.ctx = contextvars.copy_context()
    gp.status = _RUNNABLE
    gp.m = s.m0
    gp.gopc = creator_of(creator)
    if not system:
        s.gcount += 1
        s.stats.goroutines_created += 1
    if s.tracer is not None:
        s.tracer.go_create(pp, gp, creator)
    runqput(s, pp, gp, True)
    return gp


def newproc_system(s: Sched, fn: Callable[..., Any], args: tuple[Any, ...]) -> G:
    """Create a runtime goroutine (Go: a system goroutine): not counted, not dumped."""
    return newproc(s, fn, args, {}, None, True)


goexit_core: Callable[[Sched, M, G, greenlet], G | None] | None = None
"""The C core's goexit (chan.py loads it): the rest of gmain's loop body below, from
"Drop the goroutine's references" to the next G on this greenlet (or, the free list
full, the G for g0 to switch to; one that runs on this greenlet has its contextvars
context set, as gmain sets it), or None when it declines (a tracer on, exit hooks, a
preemption hook or m.locks): then only gp's references are dropped, and the code below
does the rest."""

# g0_main's switch into a goroutine: greenlet.switch, or the C core's (chan.core_go),
# which also notes where g0 stands on the C stack and its recursion depth: a goroutine
# parking in the core may start a G that never ran itself, below its park, instead of
# through g0 (_core.c, nest_ok: the switches between the two then copy a few hundred
# bytes of the parker's stack, not all of it).
g0_switch: Callable[[greenlet], object] = greenlet.switch


def gmain() -> G | None:
    """The body of every goroutine greenlet: run fn, then wait on the free list for reuse.

    g0_main starts it with no arguments (see there) for the G it is to run, the
    current G of the run's M (one run at a time: sched.current).
    Returns (letting the greenlet die) only when the free list is full; the
    return value is the next G for g0 to switch to.

    Its frame is what every parked goroutine keeps of gort in Python: the frame
    object greenlet makes for it at the first switch is sized by its locals and
    stack, so the rare paths (a panic, the pure exit) are functions of their own
    (measured: 304 -> 248 bytes a parked goroutine; 224 with fn, args and the next G
    in no locals of their own).
    """
    s = _sched.current
    assert s is not None
    s.tcount[0] -= 1  # switched to raised by one (schedule): gp's own code is traced
    mp = s.m0
    gp: G = mp.curg  # type: ignore[assignment]
    me = getcurrent()
    me.gr_context = gp.ctx  # again wherever gp changes below (goexit_core does it itself)
    gp.ctx = None
    while True:
        try:
            # A plain call where possible: CPython 3.11+ runs it in this C eval frame,
            # where fn(*args, **kwargs) (CALL_FUNCTION_EX) opens a second one, which
            # every parked goroutine's saved C stack then carries. Measured: 7.3 KiB
            # per parked goroutine before, 6.3 KiB after (raw greenlet: 6.0). gp.fn and
            # gp.args are read where used, not kept in locals: the frame object is
            # sized by the locals and the stack (measured: 248 -> 224 bytes).
            if gp.kwargs:
                result = gp.fn(*gp.args, **gp.kwargs)  # type: ignore[misc]
            elif not gp.args:
                result = gp.fn()  # type: ignore[misc]
            elif len(gp.args) == 1:
                result = gp.fn(gp.args[0])  # type: ignore[misc]
            else:
                result = gp.fn(*gp.args)  # type: ignore[misc]
        except BaseException:
            _panicked(s, gp)  # returns only for a contained run's panic
            result = None
        if gp.is_main:
            if gp.pending is not None:
                _pending_at_return(s, gp)
                result = None
            gp.result = result
            main_return(s, gp)
        del result  # gp's slots may hold the last references: dropped next
        # The next G: goexit_core's, or (None: it declined after dropping them) the pure
        # exit's; gp is read for both calls before it is rebound (a G is always true).
        gp = (goexit_core is not None and goexit_core(s, mp, gp, me)) or _goexit(
            s, mp, gp, me)
        if gp.gr is not me:
            s.tcount[0] += 1  # as schedule's switch: gp restores its own where it resumes
            return gp  # the free list was full: g0 (the parent) switches to gp
        # gp's context is set (goexit_core, _goexit)


def _pending_at_return(s: Sched, gp: G) -> None:
    """Main returned with exceptions goraise left for it (a signal handler's) that no safe
    point raised: raised now, as at main's last instruction, never dropped (with several,
    the last, each earlier one the ``__context__`` of the next)."""
    exc = gp.pending
    assert exc is not None
    for later in gp.pendmore or ():
        if later.__context__ is None and later is not exc:
            later.__context__ = exc
            exc = later
    gp.pending, gp.pendmore = None, None
    try:
        raise exc
    except BaseException:
        _panicked(s, gp)  # returns only for a contained run's panic


def _panicked(s: Sched, gp: G) -> None:
    """gmain's handler for the exception its goroutine's function raised (the one being
    handled): a panic, unless abandon.reap is releasing the goroutine."""
    e = sys.exc_info()[1]
    assert e is not None
    if abandon.reaping and isinstance(e, GreenletExit):
        raise  # abandon.reap releasing this goroutine: let the greenlet die
    # Anything else, GreenletExit the program raised itself included, is a panic:
    # greenlet would hand a GreenletExit escaping gmain to g0 as a value.
    if s.contain is not None and not gp.is_main:
        # A contained run (a test): the panic fails the test, not the process; the plugin
        # raises it in the main goroutine. This G exits.
        e.add_note(f"gort: uncaught in goroutine {gp.goid}")
        s.contain(e)
        return
    fatal(s, gp, e)


def _goexit(s: Sched, mp: M, gp: G, me: greenlet) -> G:
    """gmain's exit path in Python (Go: goexit0): gp's function returned. Returns the G
    that runs next on this greenlet (its context set), or, the free list full, one with
    a greenlet of its own for g0 to switch to."""
    # Drop the goroutine's references while it is still RUNNING and the current G: a
    # finalizer they trigger runs in this goroutine, with the runtime consistent (it
    # may even block). After the status changes it would run mid-exit.
    gp.fn = None
    gp.args = ()
    gp.kwargs = {}
    gp.param = None
    hooks = gp.onexit  # threadlock.local drops the goroutine's values (may run __del__)
    if hooks is not None:
        gp.onexit = None
        for hook in hooks:
            hook()
    del hooks
    # goexit0
    gp.status = Gstatus.DEAD
    if not gp.system:
        s.gcount -= 1
    pp = mp.p
    assert pp is not None
    if len(pp.gfree) >= _GFREE_MAX:
        # The G is dropped. Its greenlet goes to the next G if that one never ran, else
        # it dies and g0 (its parent) switches to the next G.
        if s.tracer is not None:
            s.tracer.go_stop(pp, gp, monotonic_ns(), "exit")
        del s.allgs[gp]
        gp.gr = None
        t = s.tcount
        v = t[0]
        t[0] = v + 1  # as in schedule
        try:
            nxt, inherit = find_runnable(s, mp, pp)
            if s.tracer is not None:
                s.tracer.go_start(pp, nxt, monotonic_ns())
            execute(s, mp, pp, nxt, inherit, prev=nxt)  # bookkeeping only, no switch
        finally:
            t[0] = v
        if nxt.gr is not None or nxt.resume is not None:
            return nxt
        nxt.gr = me  # never ran: it takes this greenlet over, as in execute
    else:
        pp.gfree.append(gp)
        schedule(s, mp, gp)
        # Who runs on this greenlet now: gp again (newproc reused it and its greenlet),
        # or a G that had never run and took this greenlet over (execute).
        nxt = mp.curg  # type: ignore[assignment]
    me.gr_context = nxt.ctx
    nxt.ctx = None
    return nxt


def g0_main(s: Sched) -> None:
    """The M's scheduler greenlet: start goroutine greenlets on a shallow stack.

    Whoever switches here has made the G to start (or resume) the M's current G, and
    passes nothing: an argument would stay referenced from the switching goroutine's
    saved stack while it is parked (measured: 48 bytes a parked goroutine; gmain's
    arguments 56 more for its life, and a partial binding them 144 bytes of saved C
    stack). A gmain that returns (the free list full) returns the next G, also the
    current G.
    """
    g0 = getcurrent()
    mp = s.m0
    nxt = mp.curg
    while nxt is not None:
        gr = nxt.gr
        if gr is None:
            gr = greenlet(gmain, g0)
            nxt.gr = gr
            got = g0_switch(gr)
        elif gr.dead:
            raise throw(f"g0: goroutine {nxt.goid} has a dead greenlet")
        else:
            got = g0_switch(gr)
        nxt = None if got is None else mp.curg


# ---------------------------------------------------------------------------
# Ending a run: main returned, a goroutine panicked, deadlock


def main_return(s: Sched, gp: G) -> NoReturn:
    """The main goroutine returned: the program is over; hand the result to the host."""
    host = s.host if s.host is not None else s.ender
    assert host is not None
    host.switch(("return", gp.result))
    raise throw("main_return: resumed after the program ended")


def fatal(s: Sched, gp: G, exc: BaseException) -> NoReturn:
    """An uncaught exception in gp ends the program, as a Go panic does."""
    if not isinstance(exc, SystemExit | KeyboardInterrupt):
        exc.add_note(f"gort: uncaught in goroutine {gp.goid}")
        # What the panic report prints (cli.panic_report), captured now: after teardown
        # the goroutines are gone. GOTRACEBACK picks how much (Go: runtime1.go).
        level = s.debug.gotraceback
        exc.__gort_traceback__ = level  # type: ignore[attr-defined]
        exc.__gort_panic__ = panic_block(  # type: ignore[attr-defined]
            gp, exc, system=level in ("system", "crash"))
        if level in ("all", "system", "crash"):
            now = monotonic_ns()
            exc.__gort_others__ = "\n\n".join(  # type: ignore[attr-defined]
                goroutine_block(g2, now) for g2 in sorted(s.allgs, key=lambda g: g.goid)
                if g2 is not gp and g2.status not in (Gstatus.DEAD, Gstatus.IDLE))
    end_with(s, exc)


def end_with(s: Sched, exc: BaseException) -> NoReturn:
    """Stop the run: raise exc in gort.run's caller, or end the process (implicit runtime).

    ``s.host`` is gort.run's caller; for the implicit runtime, ``s.ender`` is
    a greenlet that ends the process as ``gort run`` would (rt0.implicit_end). Either
    way no goroutine, the main one included, is resumed. Once the run is
    over (an exception raised while abandon.reap unwinds a goroutine), exc
    just propagates.
    """
    if s.closing:
        raise exc
    host = s.host if s.host is not None else s.ender
    assert host is not None
    host.switch(("raise", exc))
    raise throw("end_with: resumed after the program ended")


# How often an idle M looks again when only a thread other than it could wake a goroutine.
CHECKDEAD_RECHECK_S = 0.05


def work_waiting(s: Sched) -> bool:
    """Something other than the running goroutine can run now or be woken by what the
    runtime waits on: a runnable G, a timer that keeps the program alive, an offload,
    a queued call from another thread, a goroutine in IO wait, a queued signal."""
    if s.runq or s.noffload or s.injectq or s.sigq or s.netpoll.nwait:
        return True
    for pp in s.allp:
        if pp.runqlen() or (pp.timers.next_when() is not None and not pp.timers.only_weak()):
            return True
    return False


def checkdead(s: Sched) -> float | None:
    """Nothing is runnable, no timer, no offload: report the deadlock (Go: checkdead).

    One case is not decided here: a goroutine parked on a thread lock
    (threadlock.py) that a thread other than the M could release, while such
    a thread is alive. Then the M sleeps ``CHECKDEAD_RECHECK_S`` (returned) and
    looks again: the release wakes it sooner (``ready_foreign``), the thread's
    exit makes the next look report the deadlock. A lock "a thread could
    release" is a Lock (anyone may release it) or an RLock held by a thread; an
    RLock held by a goroutine can only be released by that goroutine, which is
    asleep too.

    In a contained run (``s.contain``, gort's pytest plugin) the deadlock is
    raised in the main goroutine's blocking call instead (returns None), and
    the run goes on.
    """
    if s.lockwaits and any(lk.releasable_by_thread() for lk in s.lockwaits.values()) \
            and _other_threads_alive(s):
        return CHECKDEAD_RECHECK_S
    alarm = _alarm_due(s)
    if alarm is not None:
        return alarm
    exc = Deadlock("" if s.debug.gotraceback == "none" else goroutine_dump(s))
    exc.__gort_traceback__ = s.debug.gotraceback  # type: ignore[attr-defined]
    if s.sigq or s.injectq:
        # A signal's handler became due while the report was built (an alarm that
        # just fired): it runs first, and may well wake someone. Or another thread
        # readied a goroutine since find_runnable looked (a thread lock's hand-off: the
        # GIL passes to that thread at any call in here, the dump's included, and the
        # hand-off records the goroutine as the RLock's owner, which then no longer
        # reads as a thread's; 3.13 under load, 1 run): look again at once.
        return 0.0
    main_g = s.main_g
    if s.contain is not None and main_g is not None and main_g.status is _WAITING:
        goraise(main_g, exc)
        return None
    end_with(s, exc)


def _alarm_due(s: Sched) -> float | None:
    """Seconds until the process's real-time interval timer (``signal.alarm``,
    ``setitimer(ITIMER_REAL)``) fires, if the program catches its SIGALRM; else None.

    The classic timeout idiom (a raising SIGALRM handler, then a blocking call) is
    no deadlock: the signal will come and the handler raises in main. (Go has no
    such timer.) A repeating timer (``setitimer`` with an interval) counts while
    its deliveries, made while nothing else could run, have woken no goroutine for
    less than the horizon (``SigQueue.alarm_idle_since``): a handler that only
    counts ticks delays the deadlock report by at most the horizon, and a
    watchdog whose handler raises once a deadline within it has passed works.
    Only an alarm due within ``ALARM_HORIZON_S`` counts: a test runner's watchdog
    (pytest-timeout arms one for every test) must not turn a deadlock report into a
    timeout a minute later.
    """
    sigs = s.sigqueue
    if sigs is None or (not callable(sigs.prog.get(signal.SIGALRM)) and \
            not sigs.notify.get(signal.SIGALRM)):
        return None
    left, interval = signal.getitimer(signal.ITIMER_REAL)
    if not 0 < left <= ALARM_HORIZON_S:
        return None
    since = sigs.alarm_idle_since
    if interval > 0 and since is not None and \
            monotonic_ns() / 1e9 + left - since > ALARM_HORIZON_S:
        # A repeating timer whose deliveries, made while everything was blocked, woke
        # no goroutine for the horizon (a handler that only counts, a notify channel
        # nobody receives from): no more of them count.
        return None
    return left + 0.001


ALARM_HORIZON_S = 10.0


def _other_threads_alive(s: Sched) -> bool:
    """A Python thread that is neither the M nor one of gort's own (offload workers;
    sysmon is a bare _thread, not listed)."""
    for t in threading.enumerate():
        if t.ident == s.m0.tid:
            continue
        # A thread still starting (in threading's limbo) is not is_alive() yet.
        if t.is_alive() or not t._started.is_set():  # type: ignore[attr-defined]
            return True
    return False


# ---------------------------------------------------------------------------
# Starting and stopping a runtime


_start_lock = mutex()  # the runtime's own: never a goroutine-aware lock


def schedinit(host: greenlet | None, claim: list[Sched | None]) -> Sched:
    """Build the Sched for a new run (Go: schedinit). Reads the environment once.

    The test for a running runtime and the claim are one step under ``_start_lock``:
    two threads calling gort.run at once both passed the test before. ``claim[0]``
    gets the Sched in the same step as its registration (no call between them): a
    caller that an asynchronous exception (Ctrl-C) interrupts as this returns, before
    its own variable is set, still finds the runtime it must tear down there, or every
    later gort.run on the thread failed ("a runtime is already running").
    """
    with _start_lock:
        return _schedinit_locked(host, claim)


def _schedinit_locked(host: greenlet | None, claim: list[Sched | None]) -> Sched:
    if _sched.current is not None:
        where = "this thread" if _sched.current.m0.tid == _get_ident() else "another thread"
        raise RuntimeError(
            f"gort: a runtime is already running on {where}; gort.run cannot be nested or "
            "run twice at once. Start more work with gort.go instead."
        )
    debug = read_env()
    nprocs = initial_gomaxprocs()
    s = Sched(debug, read_seed())
    s.host = host
    s.start_ns = monotonic_ns()
    s.identbase = -(s.start_ns << 32)
    mp = M(0)
    s.allm.append(mp)
    s.m0 = mp
    procresize(s, nprocs)
    pp = s.allp[0]
    pp.status = Pstatus.RUNNING
    pp.m = mp
    mp.p = pp
    s.npidle = len(s.allp) - 1
    mp.g0 = greenlet(functools.partial(g0_main, s),
                     parent=host if host is not None else getcurrent())
    s.tcount = thread_tracing_now()  # the M's thread's (Sched.tcount)
    claim[0] = s  # no call between these two stores: see schedinit
    _sched.current = s
    return s


def finish_teardown() -> None:
    """Finish this thread's last teardown if an exception cut it short (rt0.run calls
    it first: until then the thread's runtime is registered and no run can start)."""
    s = _sched.current
    if s is not None and (s.ending or s.closing) and not s.torn_down \
            and s.m0.tid == _get_ident():
        teardown(s)


def procresize(s: Sched, nprocs: int) -> int:
    """Change the number of Ps; return the old number (Go: procresize)."""
    old = len(s.allp)
    while len(s.allp) < nprocs:
        s.allp.append(P(len(s.allp), Timers()))
    if nprocs < old:
        p0 = s.allp[0]
        for pp in s.allp[nprocs:]:
            while True:
                gp, _inherit = runqget(pp)
                if gp is None:
                    break
                globrunqput(s, gp)
            while pp.timers.heap:
                _when, seq, t = pp.timers.heap.pop()
                if t.active and t.seq == seq:
                    t.active = False
                    p0.timers.add(t)
            pp.status = Pstatus.DEAD
        del s.allp[nprocs:]
    with s.lock:
        s.npidle = sum(1 for pp in s.allp if pp.status != Pstatus.RUNNING)
    return old


def start_main(s: Sched, main: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Run main as goroutine 1 from the host greenlet; return how the run ended."""
    gp = newproc(s, main, args, kwargs, None)
    gp.is_main = True
    s.main_g = s.thread_g = gp
    mp = s.m0
    pp = mp.p
    assert pp is not None
    gp2, _inherit = runqget(pp)
    assert gp2 is gp
    execute(s, mp, pp, gp, False, prev=gp)  # bookkeeping; g0 makes the first switch
    t = s.tcount
    v = t[0]
    t[0] = v + 1  # as schedule's switch: gmain lowers it for main
    try:
        result: tuple[str, Any] = mp.g0.switch()  # type: ignore[union-attr]
    finally:
        t[0] = v  # the host's own, whoever switched back (main_return, end_with)
    return result


def teardown(s: Sched, keep: tuple[greenlet | None, ...] = ()) -> None:
    """End the run: stop services, abandon every goroutine, forget the Sched.

    Abandoned goroutines are never resumed. Teardown only hands them to
    abandon.bury, without a switch, so it takes the same time whatever their
    code does (O(1) in their number); abandon.reap releases their memory
    later without running their code. ``keep``: greenlets that are not the
    run's to release (the implicit runtime's main goroutine).
    """
    if s.torn_down:
        return
    if not s.closing:
        # No call between these stores: no eval-breaker check, so no signal handler's
        # exception, can fall between them.
        s.closing = True
        s.teardown_keep = keep
        s.teardown_curg = s.m0.curg
        s.m0.curg = None  # from here on getg takes its slow path, which sees closing
    # Else a teardown an exception cut short: this call finishes it. Every step below
    # can run twice (each takes its work out of the Sched before doing it, or checks).
    keep = s.teardown_keep
    curg = s.teardown_curg
    check_failed: BaseException | None = None
    with s.lock:
        callbacks = list(s.callbacks)  # calls from other threads still waiting for the M
        s.callbacks.clear()
    for cb in callbacks:
        cb.abandon()
    # Every step runs even if one before it raised (Ctrl-C lands anywhere, teardown
    # included): the first exception is raised once the runtime is gone, so that the
    # thread can start another run, the collector is back on and sysmon has stopped.
    # An exception landing between two steps (outside their try) cuts teardown short:
    # the thread's next gort.run finishes it (finish_teardown).
    failed: BaseException | None = None
    try:
        tracer, s.tracer = s.tracer, None
        if tracer is not None:  # a trace still on when the run ends is written, not lost
            tracer.write()
    except BaseException as e:
        failed = e
    while s.closers:  # the last started first; popped once called, so none is skipped
        try:
            s.closers[-1]()
        except BaseException as e:
            failed = failed or e
        s.closers.pop()
    try:
        if _sched.current is s:
            _sched.current = None  # first: whatever interrupts what follows, no run is left
        if s.schedcheck is not None:
            # The state the run left (the closers stop services, they touch no queue),
            # checked once sysmon stopped: a thorough check holds the GIL for a while.
            try:
                s.schedcheck(s, curg)
            except BaseException as e:  # raised once teardown is done
                check_failed = e
        # A finished goroutine on a free list whose greenlet went to another G (or
        # died) has nothing left to release: only the others are buried, and the free
        # lists let go of theirs now, freed by their reference counts rather than by a
        # later collection of the run's cycles (spawn + finish: ~2,000 instructions a
        # goroutine for abandon.reap and the collection, measured with callgrind).
        gs = [gp for gp in s.allgs
              if gp.gr is not None or gp.resume is not None or gp.status is not _DEAD]
        s.allgs = {}
        for pp in s.allp:
            pp.gfree = []
        fq = s.finq
        abandon.bury(gs, s.m0.g0, keep, s.m0.tid, fq.g if fq is not None else None)
    finally:
        try:
            s.netpoll.close()
        finally:
            sigs = s.sigqueue
            if sigs is not None:  # the program's handlers, last (sigqueue.py)
                try:
                    sigs.restore_handlers()
                except BaseException as e:
                    failed = failed or e
    s.torn_down = True
    if failed is not None:
        raise failed
    if check_failed is not None:
        raise check_failed
