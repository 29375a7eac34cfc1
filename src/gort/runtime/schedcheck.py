"""A consistency check of the scheduler's state (Go: the invariants checkdead and
schedtrace rely on, and the ``throw``s of proc.go, gathered into one pass).

``schedcheck(s, curg)`` verifies that every G's status matches where it is:

- RUNNABLE: exactly once in a run queue (a P's ``runnext`` or ring, or the
  global queue); no other G is on any;
- RUNNING: it is its M's ``curg`` (at most one);
- WAITING / SYSCALL: ``gp.waiting`` names what it waits on and the G can be
  found from there: its sudog queued on the channel with ``sg.g is gp``
  (every case's, for a select), in its semaphore's FIFO, its sleep timer
  live in its P's heap, its offloaded call pointing back at it, the finalizer
  queue holding it, its socket's PollDesc naming it as the waiter;
- DEAD: on exactly one P's free list;

that no sudog is queued on a channel for a G that does not wait on it
(channels are found through the waiting Gs, and with ``thorough`` through
``gc.get_objects()`` too, which finds abandoned sudogs on channels no G
waits on any more), that each channel's buffer and queues agree (Go's hchan
invariants, chan.py), that each timer heap's stale count is right, and that
the counters add up (``gcount``, ``npidle``, ``noffload`` against the calls in
flight, the netpoller's ``nwait`` against the goroutines in IO wait). A
failure raises ``GortInternalError`` listing every problem found.

When it runs: at teardown, once the services stopped (the state is then what
the run left), when
``GODEBUG=gortcheck=1`` (``=2``: thorough) or when ``enabled`` is set (gort's
own test suite sets it, tests/conftest.py). It reads only; it never fixes.
Run it only from the M's thread, with the runtime stopped at a scheduling
point (teardown is one).
"""

from __future__ import annotations

import gc
from typing import Any

from .chan import Chan, Sudog, SudogList, WaitQ
from .error import GortInternalError
from .g import CANCELLED, G, Gstatus
from .mfinal import Finq
from .p import RUNQ_SIZE, Pstatus
from .poll_runtime import IOWait
from .sched import Sched
from .sema import Sema
from .syscall import Call
from .time import _Sleep

enabled = 0
"""Check at every teardown: 1, or 2 for thorough (set by gort's own tests)."""


def schedcheck(s: Sched, curg: G | None, thorough: bool = False) -> None:
    """Verify the scheduler's state; raise GortInternalError naming every inconsistency.

    ``curg`` is the M's running goroutine (teardown passes the one it had).
    """
    bad: list[str] = []
    where: dict[G, list[str]] = {}

    def put(gp: Any, place: str) -> None:
        if not isinstance(gp, G):
            bad.append(f"{place} holds {gp!r}, not a G")
            return
        where.setdefault(gp, []).append(place)

    for pp in s.allp:
        if pp.runnext is not None:
            put(pp.runnext, f"P{pp.id}.runnext")
        n = pp.runqtail - pp.runqhead
        if not 0 <= n <= RUNQ_SIZE:
            bad.append(f"P{pp.id}: run queue length {n}")
            n = 0
        live = {(pp.runqhead + k) % RUNQ_SIZE for k in range(n)}
        for i, gp in enumerate(pp.runq):
            if i in live:
                put(gp, f"P{pp.id}.runq[{i}]")
            elif gp is not None:
                bad.append(f"P{pp.id}.runq[{i}] outside head..tail still holds {gp!r}")
        _check_timers(s, pp.id, pp.timers, bad)
    for i, gp in enumerate(list(s.runq)):
        put(gp, f"global runq[{i}]")

    free: dict[G, int] = {}
    for pp in s.allp:
        for gp in pp.gfree:
            free[gp] = free.get(gp, 0) + 1

    chans: dict[int, Chan[Any]] = {}
    live_gs = 0
    insyscall = 0
    running = [gp for gp in s.allgs if gp.status is Gstatus.RUNNING]
    if len(running) > 1:
        bad.append(f"{len(running)} goroutines RUNNING on one M: {running!r}")
    for gp in s.allgs:
        st = gp.status
        places = where.get(gp, [])
        if st is Gstatus.RUNNABLE:
            if len(places) != 1:
                bad.append(f"{gp!r} is RUNNABLE but on {len(places)} run queues {places}")
        elif places:
            bad.append(f"{gp!r} is {st.name} but on run queue(s) {places}")
        if st is Gstatus.RUNNING and curg is not gp:
            bad.append(f"{gp!r} is RUNNING but the M's curg is {curg!r}")
        if st is Gstatus.DEAD:
            if free.get(gp, 0) != 1:
                bad.append(f"{gp!r} is DEAD but on {free.get(gp, 0)} free lists")
        elif gp in free:
            bad.append(f"{gp!r} is {st.name} but on a free list")
        if st not in (Gstatus.DEAD, Gstatus.IDLE) and not gp.system:
            live_gs += 1
        if st is Gstatus.WAITING or st is Gstatus.SYSCALL:
            if st is Gstatus.SYSCALL:
                insyscall += 1
            _check_wait(s, gp, bad, chans)
    bad.extend(f"{gp!r} is on a free list but not in allgs" for gp in free
               if gp not in s.allgs)

    if thorough:
        for obj in gc.get_objects():
            if isinstance(obj, Chan):
                chans[id(obj)] = obj
    for c in chans.values():
        _check_chan(c, bad)

    if s.gcount != live_gs:
        bad.append(f"gcount is {s.gcount}, but {live_gs} goroutines exist")
    npidle = sum(1 for pp in s.allp if pp.status is not Pstatus.RUNNING)
    if s.npidle != npidle:
        bad.append(f"npidle is {s.npidle}, but {npidle} Ps are not running")
    queued_offloads = sum(1 for e in s.injectq if not isinstance(e, tuple) and not e.foreign)
    if s.noffload < insyscall - queued_offloads or s.noffload < queued_offloads:
        bad.append(f"noffload is {s.noffload}, but {insyscall} goroutines are in offloaded "
                   f"calls and {queued_offloads} finished calls are queued")
    iowait = sum(1 for gp in s.allgs if gp.status is Gstatus.WAITING
                 and isinstance(gp.waiting, IOWait))
    if s.netpoll.nwait != iowait:
        bad.append(f"netpoll.nwait is {s.netpoll.nwait}, but {iowait} goroutines are in "
                   "IO wait")
    if s.offloader is None and s.noffload:
        bad.append(f"noffload is {s.noffload} with no offload worker started")
    if bad:
        raise GortInternalError("fatal error: schedcheck: " + "; ".join(bad))


def _check_wait(s: Sched, gp: G, bad: list[str], chans: dict[int, Chan[Any]]) -> None:
    w = gp.waiting
    st = gp.status.name
    if w is None:
        if gp.waitreason.value != "select (no cases)":
            bad.append(f"{gp!r} is {st} on nothing (gp.waiting is None)")
        return
    if w is CANCELLED:
        bad.append(f"{gp!r} is {st} after its wait was cancelled (goraise did not ready it)")
        return
    if isinstance(w, Sudog):
        chans[id(w.c)] = w.c
        _check_sudog(gp, w, bad)
    elif isinstance(w, SudogList):
        if gp.selectdone:
            bad.append(f"{gp!r} is {st} in a select already marked done")
        for sg in w:
            chans[id(sg.c)] = sg.c
            _check_sudog(gp, sg, bad)
    elif isinstance(w, Sema):
        if list(w.waiters).count(gp) != 1:
            bad.append(f"{gp!r} waits on a semaphore that holds it "
                       f"{list(w.waiters).count(gp)} times")
    elif isinstance(w, _Sleep):
        t = w.t
        live = any(e[2] is t and e[1] == t.seq for pp in s.allp for e in pp.timers.heap)
        if not t.active or t.arg is not gp or not live:
            bad.append(f"{gp!r} sleeps on a timer that is not live for it "
                       f"(active={t.active}, in heap={live})")
    elif isinstance(w, Call):
        if gp.status is not Gstatus.SYSCALL or w.g is not gp:
            bad.append(f"{gp!r} waits on an offloaded call that names {w.g!r}")
    elif isinstance(w, IOWait):
        pd = w.pd
        if pd.g[w.mode] is not gp or s.netpoll.pds.get(pd.fd) is not pd:
            bad.append(f"{gp!r} waits on {w!r}, which names {pd.g[w.mode]!r} "
                       f"(registered: {s.netpoll.pds.get(pd.fd) is pd})")
    elif isinstance(w, Finq) and (not w.parked or w.g is not gp):
        bad.append(f"{gp!r} waits on the finalizer queue, which does not hold it")
    # Other waits (primitives added later) have nothing this check knows how to verify.


def _check_sudog(gp: G, sg: Sudog, bad: list[str]) -> None:
    if sg.g is not gp:
        bad.append(f"{gp!r} waits on a sudog of {sg.g!r}")
    if not sg.queued:
        bad.append(f"{gp!r} waits on a sudog that is on no queue")
    elif sg.q is not sg.c.recvq and sg.q is not sg.c.sendq:
        bad.append(f"{gp!r}'s sudog is queued on a queue of another channel")


def _walk(q: WaitQ, name: str, c: Chan[Any], bad: list[str]) -> list[Sudog]:
    out: list[Sudog] = []
    prev: Sudog | None = None
    sg = q.first
    while sg is not None:
        if sg.prev is not prev or sg.q is not q or not sg.queued:
            bad.append(f"{c!r}.{name}: broken link at the sudog of {sg.g!r}")
            break
        out.append(sg)
        if len(out) > 1_000_000:
            bad.append(f"{c!r}.{name}: cycle in the wait queue")
            break
        prev, sg = sg, sg.next
    if q.last is not prev:
        bad.append(f"{c!r}.{name}: last does not point at the last sudog")
    return out


def _check_chan(c: Chan[Any], bad: list[str]) -> None:
    if not 0 <= c.qcount <= c.dataqsiz:
        bad.append(f"{c!r}: qcount {c.qcount} outside 0..{c.dataqsiz}")
    waiting: dict[str, int] = {}
    gs: dict[str, set[G]] = {}
    for name, q in (("recvq", c.recvq), ("sendq", c.sendq)):
        n = 0
        gs[name] = set()
        for sg in _walk(q, name, c, bad):
            gp = sg.g
            if sg.is_select and gp.selectdone:
                continue  # a select that won elsewhere; it takes this off when it resumes
            w = gp.waiting
            if gp.status is not Gstatus.WAITING or not (w is sg or (
                    isinstance(w, SudogList) and any(x is sg for x in w))):
                bad.append(f"{c!r}.{name} holds a sudog for {gp!r}, which does not wait "
                           "on it")
            n += 1
            gs[name].add(gp)
        waiting[name] = n
    if c.dataqsiz and c.qcount > 0 and waiting["recvq"]:
        bad.append(f"{c!r}: {waiting['recvq']} receivers wait on a non-empty buffer")
    if c.dataqsiz and c.qcount < c.dataqsiz and waiting["sendq"]:
        bad.append(f"{c!r}: {waiting['sendq']} senders wait with room in the buffer")
    # One select may wait to send and to receive on the same channel; two Gs may not.
    if gs["recvq"] and gs["sendq"] and len(gs["recvq"] | gs["sendq"]) > 1:
        bad.append(f"{c!r}: receivers and senders wait at once")
    if c.closed and (waiting["recvq"] or waiting["sendq"]):
        bad.append(f"{c!r}: closed, but goroutines still wait on it")


def _check_timers(s: Sched, pid: int, timers: Any, bad: list[str]) -> None:
    live = sum(1 for when, seq, t in timers.heap if t.active and t.seq == seq)
    if len(timers.heap) - live != timers.stale:
        bad.append(f"P{pid} timers: stale count {timers.stale}, but "
                   f"{len(timers.heap) - live} entries are stale")
