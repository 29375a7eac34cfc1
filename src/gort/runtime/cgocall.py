"""Calls into the runtime from threads that run no goroutines (Go: cgocall.go, cgocallback).

In Go a thread the runtime did not create (a C library's) may call Go code:
``cgocallback`` gives it an M for the call. Here only the M's thread may
touch the scheduler's state (channels, run queues, timers are guarded by "one
M plus the GIL", chan.py), and a greenlet cannot move to another thread, so
the call goes to the M instead: ``cgocallback`` queues a ``Callback`` on
``sched.injectq`` (the queue finished offloads already use, so the hand-off
fast path tests nothing new), wakes the M through the netpoller
(``netpoll.brk``), and waits. The M starts each queued callback as a system
goroutine in its next scheduling round (``proc.inject``), which runs the
operation exactly as a goroutine would and hands back its result or
exception. sysmon counts a queued callback as work (``runnable_elsewhere``
reads ``injectq``), so a spinning goroutine is preempted for it.

Which operations: only the non-blocking ones (``select`` with ``default``,
``close``, ``gort.go``, Timer and Ticker ``stop``/``reset``, ``WaitGroup.add``/
``done``, ``Mutex.unlock``/``try_lock``, ``RWMutex`` unlocks, ``Cond.signal``/
``broadcast``). They call ``proc.getg`` first, which raises ``NotInGoroutine``
off the M; they catch it and come here. A blocking operation lets it
propagate: its message names the thread and what to do instead. So the
goroutine fast paths pay nothing (a ``try`` costs nothing on 3.11+ until
something raises).

Invariants:
- the caller waits for its callback (one lock acquire); the callback runs
  once, in a goroutine, with the runtime consistent; its result or exception
  is the caller's;
- a callback is in ``sched.callbacks`` from queueing until it has run;
  teardown fails the ones left (``abandon``: the caller gets a RuntimeError
  saying the run ended), so no caller waits forever;
- sysmon's own thread never waits for the M: the M may need sysmon to
  preempt the goroutine that holds it. A call from there is refused with a
  clear error. (Finalizers, the only Python code that could run there, run
  in the finalizer goroutine while a runtime runs: mfinal.py.)

Rejected: running the operation directly on the calling thread under a lock
(every channel operation on the M would then have to take it too, Go's hchan
lock: a lock round trip on the hottest path for a rare call); running it
with a borrowed G inside ``inject`` (the operation's preemption check and
``goready`` would run inside a scheduling round, which is re-entrancy by
another name).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import sched as _sched
from .lock_futex import mutex
from .sched import Sched


class Callback:
    """One call from another thread, queued for the M (on ``sched.injectq``)."""

    __slots__ = ("args", "done", "exc", "fn", "kwargs", "value")

    foreign = True  # proc.inject: a callback, not a finished offload

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.value: Any = None
        self.exc: BaseException | None = None
        self.done = mutex()
        self.done.acquire()  # released once the call ran (or the run ended)

    @property
    def role(self) -> str:
        """What sysmon's reports call the system goroutine running it (system_role)."""
        fn = self.fn
        name = getattr(fn, "__qualname__", None) or repr(fn)
        return f"a call made from another thread: {getattr(fn, '__module__', '?')}.{name}"

    def run(self, s: Sched) -> None:
        """Run the call; in a system goroutine on the M (started by proc.inject)."""
        try:
            self.value = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # the caller's, raised in its thread
            self.exc = e
        finally:
            with s.lock:
                s.callbacks.discard(self)
            self.fn = None  # type: ignore[assignment]
            self.args = ()
            self.kwargs = {}
            self.done.release()

    def abandon(self) -> None:
        """The run ended before the call ran: fail it (teardown)."""
        self.exc = RuntimeError(
            "gort: the run ended before this call, made from another thread, could run "
            "on the runtime's thread; nothing was done")
        self.done.release()


F = TypeVar("F", bound=Callable[..., Any])


def on_m(fn: F) -> F:
    """Decorate a non-blocking operation so that other threads may call it: from a thread
    that runs no goroutines it runs on the runtime's thread (cgocallback), from a
    goroutine (or with no runtime) it runs directly. For operations that are not on a
    hot path: the check costs a thread-ident comparison."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        s = _sched.current
        if s is not None and s.m0.tid != threading.get_ident():
            return cgocallback(s, fn, *args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def cgocallback(s: Sched, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` on s's M, in a goroutine; wait for it in this thread.

    For non-blocking operations called from a thread that runs no goroutines.
    Returns fn's result or raises its exception. Raises RuntimeError from
    sysmon's thread (it must never wait for the M) and once the run ended.
    """
    mon = s.sysmon
    if mon is not None and mon.running():
        raise RuntimeError(
            "gort: called from gort's sysmon thread, which must never wait for the "
            "runtime's thread; a finalizer or callback that runs there must not call gort")
    cb = Callback(fn, args, kwargs)
    with s.lock:
        if s.closing:
            raise RuntimeError(
                f"gort: called from thread {threading.current_thread().name!r} after the "
                "run ended; there are no goroutines left to hand this to")
        s.callbacks.add(cb)
        s.injectq.append(cb)
    s.netpoll.brk()
    cb.done.acquire()
    if cb.exc is not None:
        exc, cb.exc = cb.exc, None
        raise exc
    return cb.value
