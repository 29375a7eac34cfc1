"""Time for goroutines: sleep, after, Timer, Ticker (Go: package time)."""

from __future__ import annotations

import time as _stdtime
from typing import Any

from . import runtime as _rt


def sleep(seconds: float) -> None:
    """Park the calling goroutine for at least ``seconds``; <= 0 just yields."""
    _rt.time_sleep(seconds)


def _send_time(c: _rt.Chan[float], _now: int) -> None:
    c.try_send(_stdtime.monotonic())  # full channel: the tick is dropped, as in Go


def after(seconds: float) -> _rt.Chan[float]:
    """A channel (capacity 1) that receives ``time.monotonic()`` once, after ``seconds``."""
    return Timer(seconds).c


class Timer:
    """Sends the time on ``c`` once, after ``seconds`` (Go: time.Timer)."""

    __slots__ = ("_t", "c")

    def __init__(self, seconds: float) -> None:
        self.c: _rt.Chan[float] = _rt.Chan(1)
        self._t: Any = _rt.start_timer(seconds, 0, _send_time, self.c)

    def stop(self) -> bool:
        """Stop the timer; True if that prevented it from firing."""
        return _rt.stop_timer(self._t)

    def reset(self, seconds: float) -> bool:
        """Fire ``seconds`` from now instead; True if the timer had been pending."""
        return _rt.reset_timer(self._t, seconds)


class Ticker:
    """Sends the time on ``c`` every ``seconds`` (Go: time.Ticker).

    ``c`` holds one tick; ticks a slow receiver misses are dropped, as in Go.
    """

    __slots__ = ("_t", "c")

    def __init__(self, seconds: float) -> None:
        if _rt.to_ns(seconds) <= 0:
            raise ValueError(f"gort.Ticker: non-positive interval {seconds!r}; "
                             "pass a number of seconds > 0")
        self.c: _rt.Chan[float] = _rt.Chan(1)
        self._t: Any = _rt.start_timer(seconds, seconds, _send_time, self.c)

    def stop(self) -> None:
        """Stop the ticker; no more ticks are sent."""
        _rt.stop_timer(self._t)

    def reset(self, seconds: float) -> None:
        """Tick every ``seconds`` from now on."""
        if _rt.to_ns(seconds) <= 0:
            raise ValueError(f"gort.Ticker.reset: non-positive interval {seconds!r}")
        _rt.reset_timer(self._t, seconds, seconds)
