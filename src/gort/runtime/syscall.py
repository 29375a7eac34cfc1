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
starts Ms) and reused; an idle worker exits after ``IDLE_EXIT_S``. Only
``lock``-guarded fields and ``netpoll.brk`` are touched from a worker.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from time import monotonic_ns
from typing import Any, Final, TypeVar

from . import proc
from .g import G, Gstatus, WaitReason
from .sched import Sched

T = TypeVar("T")

IDLE_EXIT_S: Final = 10.0


class Call:
    """One offloaded call: what its G waits on (G.waiting), and, once done, its outcome."""

    __slots__ = ("args", "exc", "fn", "g", "kwargs", "value")

    foreign = False  # proc.inject: a finished offload, not a cgocall.Callback

    def __init__(self, gp: G, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.g: G | None = gp
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.value: Any = None
        self.exc: BaseException | None = None

    def cancel(self, gp: G) -> None:
        """The G stopped waiting (proc.goraise): the call runs on, its outcome is dropped."""
        self.g = None
MAX_WORKERS: Final = 10_000  # Go's default max threads (debug.SetMaxThreads)


class Offloader:
    """The worker threads of one run."""

    def __init__(self, s: Sched) -> None:
        self.s = s
        self.cond = threading.Condition(threading.Lock())
        self.work: deque[Call] = deque()
        self.idle = 0
        self.nthreads = 0
        self.closed = False

    def submit(self, call: Call) -> None:
        with self.cond:
            if self.idle == 0:
                if self.nthreads >= MAX_WORKERS:
                    raise RuntimeError(
                        f"gort.offload: {MAX_WORKERS} calls are already blocked in worker "
                        "threads; bound the number of concurrent offloads (e.g. with a "
                        "buffered gort.Chan used as a semaphore)")
                self.nthreads += 1
                t = threading.Thread(target=self._worker, name=f"gort-offload-{self.nthreads}",
                                     daemon=True)
                self.work.append(call)
                t.start()
                return
            self.work.append(call)
            self.cond.notify()

    def _worker(self) -> None:
        s = self.s
        while True:
            with self.cond:
                while not self.work and not self.closed:
                    self.idle += 1
                    timed_out = not self.cond.wait(IDLE_EXIT_S)
                    self.idle -= 1
                    if timed_out and not self.work:
                        self.nthreads -= 1
                        return
                if not self.work:  # closed
                    self.nthreads -= 1
                    return
                call = self.work.popleft()
            start = monotonic_ns()
            try:
                call.value = call.fn(*call.args, **call.kwargs)
            except BaseException as e:  # delivered to the goroutine, never dropped
                call.exc = e
            tracer = s.tracer
            gp = call.g
            if tracer is not None and gp is not None:
                tracer.offload(gp, call.fn, start, monotonic_ns())
            with self.cond:
                if self.closed:
                    # The run ended while the call ran: its goroutine was abandoned
                    # with the run (as in Go), so there is no one to deliver to.
                    continue
            with s.lock:
                s.injectq.append(call)
                # Dropped under the lock, before the M can take the call: the M's
                # reference is then the last, so the outcome's finalizers (if any) run
                # on the M, in the finalizer goroutine (mfinal.py), not on this thread.
                call = None  # type: ignore[assignment]
            s.netpoll.brk()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


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
