"""gort: Go's runtime for Python.

Goroutines on a G-M-P scheduler, channels and select, timers, gort.sync, and
a sysmon thread with signal-based asynchronous preemption, so that a
goroutine spinning in a tight loop cannot starve the others.

The reference is docs/api.md; see README.md for a tour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from . import context, errgroup, semaphore, signal, sync, trace
from . import runtime as _rt
from .runtime import Chan, ClosedChannelError, Deadlock, default
from .runtime import aio as _aio
from .runtime import chan as _chan
from .runtime import threadlock as _threadlock
from .time import Ticker, Timer, after, after_func, sleep

# Thread locks become goroutine-aware now, before the program makes its own (gevent's
# order); the runtime's own locks were made from CPython's factories (lock_futex.py).
_threadlock.patch()
# asyncio's running loop becomes per goroutine (now, or when asyncio is first imported).
_aio.patch()

P = ParamSpec("P")
_MAX_GOMAXPROCS = 1024  # Go's _MaxGomaxprocs
_CO_ASYNC = 0x80 | 0x200  # CO_COROUTINE | CO_ASYNC_GENERATOR


def _async_error(who: str, fn: Any) -> str:
    return (f"{who}: {getattr(fn, '__qualname__', fn)!r} is an async function; gort runs "
            "plain functions as goroutines (they block by parking, no await): write it "
            "with def, and use gort's channels, sleep and offload inside")
T = TypeVar("T")

__all__ = [
    "Chan",
    "ClosedChannelError",
    "Deadlock",
    "Ticker",
    "Timer",
    "after",
    "after_func",
    "context",
    "current_id",
    "default",
    "errgroup",
    "go",
    "gomaxprocs",
    "gosched",
    "num_goroutine",
    "offload",
    "offload_ctx",
    "run",
    "select",
    "semaphore",
    "signal",
    "sleep",
    "stack",
    "stats",
    "sync",
    "trace",
]


def go(fn: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs) -> None:
    """Start ``fn(*args, **kwargs)`` as a new goroutine. Returns None at once."""
    if not callable(fn):
        raise TypeError(
            f"gort.go: {fn!r} is not callable; pass the function and its arguments "
            "separately, e.g. gort.go(worker, 1), not gort.go(worker(1))"
        )
    if getattr(getattr(fn, "__code__", None), "co_flags", 0) & _CO_ASYNC:
        raise TypeError(_async_error("gort.go", fn))
    try:
        gp = _rt.getg()
    except _rt.NotInGoroutine as e:  # another thread: start it from the M (cgocall)
        _rt.cgocallback(e.s, go, fn, *args, **kwargs)
        return
    if gp.preempt:
        # The safe point comes before the goroutine is made: an exception delivered here
        # (a signal handler's, goraise) means nothing started; raised after, a program
        # that redoes what an exception interrupted started the goroutine twice.
        _rt.gopreempt_m(gp, False)
    s = _rt.running()
    assert s is not None
    _rt.newproc(s, fn, args, kwargs, gp)


go = _chan.core_go(go)  # the C core's newproc, where it runs (falls back to the above)


def gosched() -> None:
    """Yield the processor: the caller goes to the global run queue, others run."""
    _rt.gosched(_rt.getg())


@_rt.on_m  # callable from any thread: runs on the runtime's thread
def gomaxprocs(n: int = 0) -> int:
    """Set the number of Ps to n and return the previous number; n < 1 only queries."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"gort.gomaxprocs: n must be an int, got {n!r}")
    s = _rt.current_sched()
    if n < 1:
        return len(s.allp)
    if n > _MAX_GOMAXPROCS:
        raise ValueError(f"gort.gomaxprocs: {n} is more than {_MAX_GOMAXPROCS} Ps (Go's "
                         "limit)")
    return _rt.procresize(s, n)


@_rt.on_m  # callable from any thread: runs on the runtime's thread
def num_goroutine() -> int:
    """The number of goroutines that exist now (running, runnable or blocked)."""
    s = _rt.current_sched()
    return s.gcount


def current_id() -> int:
    """The id of the calling goroutine; the main goroutine is 1."""
    return _rt.getg().goid


def run(main: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``main(*args, **kwargs)`` as goroutine 1 and return its value.

    Starts the scheduler and sysmon on the calling thread and tears them down
    when main returns; goroutines still alive then are abandoned, as in Go.
    An uncaught exception in any goroutine ends the run and is re-raised here
    (a note names the goroutine); a deadlock raises ``gort.Deadlock``.
    TypeError for a non-callable or an async function.
    """
    if getattr(getattr(main, "__code__", None), "co_flags", 0) & _CO_ASYNC:
        raise TypeError(_async_error("gort.run", main))
    return _rt.run(main, args, kwargs)  # type: ignore[no-any-return]


def select(*cases: Any) -> tuple[int, Any]:
    """Wait on several channel operations; do exactly one, chosen at random among the ready.

    Cases: ``ch.recv``, ``ch.recv_ok``, ``(ch.send, value)``, ``gort.default``.
    Returns ``(index, value)``: the chosen case's position, and the received
    value (``(value, ok)`` for ``recv_ok``; None for a send or default).
    """
    return _rt.selectgo(cases)


def offload(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call on a worker thread; the calling goroutine parks meanwhile.

    Use it for anything that blocks the OS thread (file I/O, ``time.sleep``,
    a C library call): the other goroutines keep running. Returns fn's result
    or raises its exception, in the calling goroutine.
    """
    return _rt.offload(fn, *args, **kwargs)


def offload_ctx(ctx: context.Context, fn: Callable[P, T], /, *args: P.args,
                **kwargs: P.kwargs) -> T:
    """offload, giving up when ``ctx`` is done (Go's ``XxxContext`` calls, ctx first).

    Returns fn's result or raises its exception, as offload does; if ctx is
    done first, the goroutine stops waiting and raises ``ctx.err()`` (a
    fresh ``Canceled`` or ``DeadlineExceeded``): the call runs on in its
    thread (a thread cannot be stopped) and its outcome is dropped, as when
    an exception is delivered to a goroutine parked in offload. If ctx is
    already done, fn is not called.

    A separate function rather than a keyword of offload: any keyword name
    could be one of fn's own (``offload(fn, ctx=...)`` would be ambiguous),
    and Go's convention puts the context first.
    """
    if not isinstance(ctx, context.Context):
        raise TypeError(f"gort.offload_ctx: the first argument is a context, got {ctx!r}; "
                        "use gort.offload(fn, ...) for a call with no context")
    gp = _rt.getg()
    context._raise_err(ctx)
    waiting = [True]

    def interrupt() -> None:
        # gort code: never preempted between this test and goraise, so gp is still
        # parked in this offload when it is true (inject readies it RUNNABLE first).
        if waiting[0] and gp.status is _rt.Gstatus.SYSCALL:
            err = ctx.err()
            assert err is not None
            _rt.goraise(gp, context._fresh(ctx, err))

    stop = context.after_func(ctx, interrupt)
    try:
        return _rt.offload(fn, *args, **kwargs)
    finally:
        waiting[0] = False
        stop()


@_rt.on_m  # callable from any thread: runs on the runtime's thread
def stack() -> str:
    """Every goroutine's stack in Go's format (Go: runtime.Stack(buf, true)).

    One block per goroutine, ``goroutine 7 [chan receive]:`` then its frames,
    innermost first with file:line, then where it was created; the calling
    goroutine first, then the others by number. SIGQUIT prints the same dump on
    stderr and exits with status 2.
    """
    s = _rt.current_sched()
    return _rt.goroutine_dump(s, s.m0.curg)


@_rt.on_m  # callable from any thread: runs on the runtime's thread
def stats() -> dict[str, Any]:
    """Runtime counters of the current run: goroutines created, preemptions, signals, sysmon."""
    s = _rt.current_sched()
    d = s.stats.as_dict()
    d["goroutines"] = s.gcount
    d["gomaxprocs"] = len(s.allp)
    d["core"] = _chan.CORE  # "C" (gort._core) or "pure Python (why)"
    return d


for _name in ("Chan", "ClosedChannelError", "Deadlock"):
    globals()[_name].__module__ = "gort"
default.__class__.__module__ = "gort"
