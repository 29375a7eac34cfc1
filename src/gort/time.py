"""Time for goroutines: sleep, after, after_func, Timer, Ticker (Go: package time).

Timers and tickers follow Go 1.23's channel semantics: ``stop`` and
``reset`` discard a value the timer sent but nobody received yet, so no
receive after them can see a stale time (Go 1.23 runtime/time.go:
``timer.stop`` and ``timer.modify`` drain the channel, ``timerchandrain``).
Both return True when the timer was pending, counting a sent but unreceived
value as pending, as Go 1.23 does. With one M a timer's send and a ``stop``
never overlap, so Go's ``seq``/``isSending`` guards have nothing to guard.
"""

from __future__ import annotations

import time as _stdtime
from collections.abc import Callable
from typing import Any

from . import runtime as _rt


def sleep(seconds: float) -> None:
    """Park the calling goroutine for at least ``seconds``; <= 0 just yields."""
    _rt.time_sleep(seconds)


def _send_time(c: _rt.Chan[float], _now: int) -> None:
    c.try_send(_stdtime.monotonic())  # full channel: the tick is dropped, as in Go


def _go_func(arg: tuple[Callable[..., Any], tuple[Any, ...]], _now: int) -> None:
    # On the scheduler's path: only start the goroutine (Go: goFunc).
    s = _rt.running()
    assert s is not None
    _rt.newproc(s, arg[0], arg[1], {}, None)


def after(seconds: float) -> _rt.Chan[float]:
    """A channel (capacity 1) that receives ``time.monotonic()`` once, after ``seconds``."""
    return Timer(seconds).c


def after_func(seconds: float, fn: Callable[..., Any], /, *args: Any) -> Timer:
    """Run ``fn(*args)`` in its own goroutine after ``seconds`` (Go: time.AfterFunc).

    Returns a Timer whose ``c`` never receives (Go's is nil): ``stop()`` cancels the call (True if
    it had not started), ``reset(d)`` schedules it again. fn's uncaught
    exceptions are a goroutine's: they end the run. TypeError if fn is not
    callable.
    """
    if not callable(fn):
        raise TypeError(f"gort.after_func: {fn!r} is not callable; pass the function and "
                        "its arguments separately, e.g. gort.after_func(1, print, 'hi')")
    t = Timer.__new__(Timer)
    t.c = _rt.Chan()
    t._t = _rt.start_timer(seconds, 0, _go_func, (fn, args))
    return t


def _drain(c: _rt.Chan[float]) -> bool:
    if not c.buf:
        return False
    c.buf.clear()
    return True


class Timer:
    """Sends the time on ``c`` once, after ``seconds`` (Go: time.Timer).

    ``c`` is a channel of capacity 1 receiving ``time.monotonic()`` (one that
    never receives for a timer made by ``gort.after_func``).
    """

    __slots__ = ("_t", "c")

    def __init__(self, seconds: float) -> None:
        self.c: _rt.Chan[float] = _rt.Chan(1)
        self._t: Any = _rt.start_timer(seconds, 0, _send_time, self.c)

    def stop(self) -> bool:
        """Stop the timer (Go 1.23: Timer.Stop).

        Returns True if the call stopped it before its value was delivered:
        it had not fired, or it had sent a value nobody received, which is
        discarded. False if it had already fired and its value was received
        (or its function started), or it was stopped before.
        """
        pending = _rt.stop_timer(self._t)
        return _drain(self.c) or pending

    def reset(self, seconds: float) -> bool:
        """Fire ``seconds`` from now instead (Go 1.23: Timer.Reset).

        An unreceived value from before is discarded, so the next receive
        waits for the new expiry. Returns True if the timer was pending (as
        ``stop`` counts it), False if it had expired or been stopped.
        """
        _rt.to_ns(seconds)  # a bad duration raises before anything changes
        drained = _drain(self.c)
        return _rt.reset_timer(self._t, seconds) or drained


class Ticker:
    """Sends the time on ``c`` every ``seconds`` (Go: time.Ticker).

    ``c`` holds one tick; ticks a slow receiver misses are dropped, as in Go.
    ValueError for a non-positive interval.
    """

    __slots__ = ("_t", "c")

    def __init__(self, seconds: float) -> None:
        if _rt.to_ns(seconds) <= 0:
            raise ValueError(f"gort.Ticker: non-positive interval {seconds!r}; "
                             "pass a number of seconds > 0")
        self.c: _rt.Chan[float] = _rt.Chan(1)
        self._t: Any = _rt.start_timer(seconds, seconds, _send_time, self.c)

    def stop(self) -> None:
        """Stop the ticker; no more ticks are sent and an unreceived one is discarded."""
        _rt.stop_timer(self._t)
        _drain(self.c)

    def reset(self, seconds: float) -> None:
        """Stop, then tick every ``seconds`` from now on (Go 1.23: Ticker.Reset).

        An unreceived tick from before is discarded. ValueError for a
        non-positive interval (Go panics); the ticker is left as it was.
        """
        if _rt.to_ns(seconds) <= 0:
            raise ValueError(f"gort.Ticker.reset: non-positive interval {seconds!r}; "
                             "pass a number of seconds > 0 (stop() ends the ticker)")
        _drain(self.c)
        _rt.reset_timer(self._t, seconds, seconds)
