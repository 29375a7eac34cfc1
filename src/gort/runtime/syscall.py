"""Blocking calls off the M (Go: entersyscall/exitsyscall in proc.go, and cgocall.go).

In Go a goroutine making a blocking system call keeps its M, and sysmon
hands the P to another M so the other goroutines keep running. A greenlet
cannot move to another thread, so gort turns it around: ``offload(fn)``
parks the calling G (status ``syscall``), a worker thread runs ``fn``, and
when it returns the worker queues the finished ``Call`` (the G, the result
or the exception) on ``sched.injectq`` and wakes the M through the netpoller; the M readies the G
in its next scheduling round (``proc.inject``). The others keep running
meanwhile, and an offloaded call in flight counts as a possible wake-up, so
waiting for it is never reported as a deadlock.

Workers are started on demand (one per concurrently blocked call, as Go
starts Ms: no call ever waits behind another) and reused; an idle worker
exits after ``IDLE_EXIT_S``. Only
``lock``-guarded fields and ``netpoll.brk`` are touched from a worker.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import weakref
from collections.abc import Callable
from time import monotonic_ns
from typing import Any, Final, TypeVar

from . import proc
from .chan import Chan
from .g import G, Gstatus, WaitReason
from .lock_futex import mutex
from .m import newosproc
from .sched import Sched

T = TypeVar("T")

IDLE_EXIT_S: Final = 10.0
MAX_WORKERS: Final = 10_000  # Go's default max threads (debug.SetMaxThreads)


class Call:
    """One offloaded call: what its G waits on (G.waiting), and, once done, its outcome."""

    __slots__ = ("args", "ctx", "exc", "fn", "g", "kwargs", "value")

    foreign = False  # proc.inject: a finished offload, not a cgocall.Callback

    def __init__(self, gp: G, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.g: G | None = gp
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        # The caller's contextvars (decimal's context among them), as asyncio.to_thread
        # gives its function: a copy, so the worker's changes stay there.
        self.ctx = contextvars.copy_context()
        self.value: Any = None
        self.exc: BaseException | None = None

    def cancel(self, gp: G) -> None:
        """The G stopped waiting (proc.goraise): the call runs on, its outcome is dropped."""
        self.g = None


class Worker:
    """One worker thread, parked on its own lock while idle (Go: an M's ``park`` note)."""

    __slots__ = ("call", "park")

    def __init__(self, call: Call) -> None:
        self.call: Call | None = call
        self.park = mutex()  # held while idle; released to hand over a call
        self.park.acquire()


class Offloader:
    """The worker threads of one run.

    Every submitted call gets a thread of its own at once: an idle worker
    claimed under ``lock`` (so two quick submissions can never both go to the
    same one), else a new thread. No call ever waits behind another, as in
    Go, where each blocked system call holds its own M. Idle workers form a
    LIFO stack, so a burst is served by the threads that ran last and the
    rest stay idle long enough to be reaped.

    Rejected: one shared queue and a condition variable with an idle count,
    the previous design: a worker took itself off the count only after it
    woke, so a second submission made meanwhile counted it as idle too and
    queued behind the first (an offloaded ``event.wait()`` then blocked the
    ``event.set()`` that would end it).
    """

    def __init__(self, s: Sched) -> None:
        self.s = s
        # Raw thread locks (captured at import): runtime-internal, never goroutine-aware.
        self.lock = mutex()
        self.idle: list[Worker] = []  # lock
        self.nthreads = 0  # lock
        self.closed = False  # lock

    def submit(self, call: Call) -> None:
        with self.lock:
            if self.idle:
                w = self.idle.pop()
                w.call = call
                w.park.release()
                return
            if self.nthreads >= MAX_WORKERS:
                raise RuntimeError(
                    f"gort.offload: {MAX_WORKERS} calls are already blocked in worker "
                    "threads; bound the number of concurrent offloads (e.g. with a "
                    "buffered gort.Chan used as a semaphore)")
            self.nthreads += 1
        # A raw thread: threading.Thread.start waits for the thread to start, on an
        # Event that is goroutine-aware while a run lasts, so the goroutine would park
        # there, where an exception (goraise) could leave the call started but not
        # counted. start_new_thread returns at once; the thread is not listed by
        # threading.enumerate (checkdead does not count it as a program thread). Muted
        # (m.newosproc): the program's callbacks see only the calls it offloads.
        newosproc(self._worker, Worker(call))

    def _worker(self, w: Worker) -> None:
        s = self.s
        while True:
            call = w.call
            w.call = None
            assert call is not None
            start = monotonic_ns()
            try:
                fn = call.fn if not call.kwargs else functools.partial(call.fn, **call.kwargs)
                # The program's code, with the program's trace/profile/monitoring callbacks
                # (muted for the rest of this thread: m.newosproc); restored even if it raises.
                call.value = sys.call_tracing(call.ctx.run, (fn, *call.args))
            except BaseException as e:  # delivered to the goroutine, never dropped
                call.exc = e
            tracer = s.tracer
            gp = call.g
            if tracer is not None and gp is not None:
                tracer.offload(gp, call.fn, start, monotonic_ns())
            with self.lock:
                if self.closed:
                    # The run ended while the call ran: its goroutine was abandoned
                    # with the run (as in Go), so there is no one to deliver to.
                    self.nthreads -= 1
                    return
                self.idle.append(w)
            with s.lock:
                s.injectq.append(call)
                # Dropped under the lock, before the M can take the call: the M's
                # reference is then the last, so the outcome's finalizers (if any) run
                # on the M, in the finalizer goroutine (mfinal.py), not on this thread.
                call = None
            s.netpoll.brk()
            if not w.park.acquire(timeout=IDLE_EXIT_S):
                with self.lock:
                    if w in self.idle:  # still unclaimed: reap this thread
                        self.idle.remove(w)
                        self.nthreads -= 1
                        return
                w.park.acquire()  # claimed just as the wait timed out: released at once
            if w.call is None:  # close() woke it
                return

    def close(self) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
            self.nthreads -= len(idle)
        for w in idle:
            w.park.release()


def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on a worker thread; park the calling goroutine meanwhile."""
    gp = proc.getg()
    if not callable(fn):
        raise TypeError(f"gort.offload: {fn!r} is not callable; pass the function and its "
                        "arguments separately, e.g. gort.offload(time.sleep, 1)")
    s = proc.running()
    assert s is not None
    off: Offloader | None = s.offloader
    if off is None:
        off = s.offloader = Offloader(s)
        s.closers.append(off.close)
    if s.tracing.value:
        proc.no_switch_in_tracing("offload")  # before the call starts, not after
    call = Call(gp, fn, args, kwargs)
    with s.lock:
        s.noffload += 1
    try:
        off.submit(call)
    except BaseException:
        with s.lock:
            s.noffload -= 1
        raise
    proc.gopark(gp, WaitReason.SYSCALL, Gstatus.SYSCALL, call)
    if call.exc is not None:
        raise call.exc
    return call.value  # type: ignore[no-any-return]


class OffloadLimit:
    """``offload`` for one kind of call, at most ``n`` of them in flight per run; more
    park, in FIFO order, until one returns (Go bounds its cgo resolver alike:
    net/cgo_unix.go's acquireThread). For calls that come in bursts, so that a burst
    of fifty starts ``n`` threads, not fifty: name lookups (gort.net.MAX_LOOKUPS)."""

    __slots__ = ("_slots", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self._slots: weakref.WeakKeyDictionary[Sched, Chan[None]] = \
            weakref.WeakKeyDictionary()

    def offload(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """offload(fn, *args, **kwargs) once fewer than n such calls are in flight."""
        s = proc.current_sched()
        slots = self._slots.get(s)
        if slots is None:
            slots = self._slots[s] = Chan(self.n)
        slots.send(None)
        try:
            return offload(fn, *args, **kwargs)
        finally:
            # (never waits: this call's slot is there. A goroutine abandoned at exit
            # runs this in the teardown, where only non-blocking operations work.)
            slots.try_recv()
