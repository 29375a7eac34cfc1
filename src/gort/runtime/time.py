"""Timers for goroutines (Go: runtime/time.go timeSleep, and time.Timer's runtime side).

The heap itself is timers.py. Here: park the running G for a duration, and
start, stop or move timers on the P that runs the caller. A timer's function
runs on the scheduler's path (see timers.py), so the ones here only goready
a G or do a non-blocking channel send.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic_ns
from typing import Any

from . import proc
from .cgocall import cgocallback
from .error import NotInGoroutine
from .g import G, Gstatus, WaitReason
from .timers import Timer, Timers


def _timers() -> Timers:
    s = proc.running()
    assert s is not None
    assert s.m0.p is not None
    return s.m0.p.timers


def _ready(gp: G, _now: int) -> None:
    proc.goready(gp)


def time_sleep(seconds: float) -> None:
    """Park the running G for at least ``seconds``; <= 0 only yields (Go: timeSleep)."""
    gp = proc.getg()
    if gp.preempt:
        proc.gopreempt_m(gp, False)
    ns = to_ns(seconds)
    if ns <= 0:
        proc.gosched(gp)
        return
    t = Timer(monotonic_ns() + ns, 0, _ready, gp)
    _timers().add(t)
    proc.gopark(gp, WaitReason.SLEEP, Gstatus.WAITING, _Sleep(t))


class _Sleep:
    """What a sleeping G waits on: its timer, stopped if the sleep is cancelled."""

    __slots__ = ("t",)

    def __init__(self, t: Timer) -> None:
        self.t = t

    def cancel(self, gp: G) -> None:
        _timers().delete(self.t)


def to_ns(seconds: float) -> int:
    """Seconds (int or float) to whole nanoseconds, with a clear error for anything else."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"gort: a duration is a number of seconds, got {seconds!r}")
    if seconds != seconds:
        raise ValueError("gort: a duration of NaN seconds; pass a number of seconds")
    return int(seconds * 1_000_000_000)


def start_timer(seconds: float, period_s: float, f: Callable[[Any, int], None],
                arg: Any) -> Timer:
    """Start a timer on the caller's P: f(arg, now) after ``seconds``, then every ``period_s``."""
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, start_timer, seconds, period_s, f, arg)  # type: ignore[no-any-return]
    t = Timer(monotonic_ns() + max(0, to_ns(seconds)), to_ns(period_s), f, arg)
    _timers().add(t)
    return t


def stop_timer(t: Timer) -> bool:
    """Stop t; True if it had not fired (or, periodic, was running)."""
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, stop_timer, t)  # type: ignore[no-any-return]
    return _timers().delete(t)


def reset_timer(t: Timer, seconds: float, period_s: float | None = None) -> bool:
    """Move t to fire ``seconds`` from now; True if it was pending."""
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, reset_timer, t, seconds, period_s)  # type: ignore[no-any-return]
    if period_s is not None:
        t.period = to_ns(period_s)
    return _timers().modify(t, monotonic_ns() + max(0, to_ns(seconds)))
