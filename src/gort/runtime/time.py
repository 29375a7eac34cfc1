"""Timers for goroutines (Go: runtime/time.go timeSleep, and time.Timer's runtime side).

The heap itself is timers.py. Here: park the running G for a duration, and
start, stop or move timers on the P that runs the caller. A timer's function
runs on the scheduler's path (see timers.py), so the ones here only goready
a G or do a non-blocking channel send.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic_ns
from typing import Any, Final

from . import proc
from .cgocall import cgocallback
from .error import Finalizing, NotInGoroutine
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
    t = Timer(when_after(ns), 0, _ready, gp)
    _timers().add(t)
    proc.gopark(gp, WaitReason.SLEEP, Gstatus.WAITING, _Sleep(t))


class Backoff:
    """The pauses of a retry that no event announces: ``first`` seconds, doubling up to
    ``cap`` (seconds) each time. For conditions the kernel reports to a blocking call
    but not to a poller: an AF_UNIX listener's full queue (gort.socket's connect), a
    full AF_UNIX datagram receiver addressed by an unconnected sender
    (internal.poll.FD's writes), a state change of "any child" (gort.os.waitpid).
    Go has no such wait (its blocking calls hold an M); the runtime timer is what
    parks the goroutine meanwhile."""

    __slots__ = ("cap", "pause")

    def __init__(self, first: float, cap: float) -> None:
        self.pause = first
        self.cap = cap

    def next(self, limit: float | None = None) -> float:
        """The next pause (seconds), at most ``limit`` (seconds; None: no limit)."""
        p = self.pause
        self.pause = min(p * 2, self.cap)
        return p if limit is None else min(p, limit)

    def sleep(self, limit: float | None = None) -> None:
        """Park the running G for the next pause (time_sleep), at most ``limit``."""
        time_sleep(self.next(limit))


class _Sleep:
    """What a sleeping G waits on: its timer, stopped if the sleep is cancelled."""

    __slots__ = ("t",)

    def __init__(self, t: Timer) -> None:
        self.t = t

    def cancel(self, gp: G) -> None:
        _timers().delete(self.t)


# Go's time.Duration range: durations saturate at about 292 years, either way.
MAX_DURATION_NS: Final = (1 << 63) - 1


def to_ns(seconds: float) -> int:
    """Seconds (int or float) to whole nanoseconds, with a clear error for anything else.

    Saturates at +-MAX_DURATION_NS (about 292 years, Go's Duration range): a
    sleep of ``inf`` or ``1e300`` seconds is a sleep that never ends, ``-inf``
    one that is over at once.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"gort: a duration is a number of seconds (int or float), "
                        f"got {seconds!r}")
    if seconds != seconds:
        raise ValueError("gort: a duration of NaN seconds; pass a number of seconds")
    if seconds >= MAX_DURATION_NS / 1e9:
        return MAX_DURATION_NS
    if seconds <= -MAX_DURATION_NS / 1e9:
        return -MAX_DURATION_NS
    return int(seconds * 1_000_000_000)


def when_after(ns: int) -> int:
    """The monotonic time ``ns`` from now, saturating (Go: time.go when())."""
    return min(monotonic_ns() + max(0, ns), MAX_DURATION_NS)


def start_timer(seconds: float, period_s: float, f: Callable[[Any, int], None],
                arg: Any, weak: bool = False) -> Timer:
    """Start a timer on the caller's P: f(arg, now) after ``seconds``, then every ``period_s``.

    A ``weak`` timer does not count as a possible wake-up for deadlock detection.
    From a thread that runs no goroutines, the call runs on the M (cgocall).
    """
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, start_timer, seconds, period_s, f, arg,  # type: ignore[no-any-return]
                           weak)
    t = Timer(when_after(to_ns(seconds)), to_ns(period_s), f, arg, weak)
    _timers().add(t)
    return t


def stop_timer(t: Timer) -> bool:
    """Stop t; True if it had not fired (or, periodic, was running)."""
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, stop_timer, t)  # type: ignore[no-any-return]
    except Finalizing:
        s = proc.running()
        if s is not None and s.m0.p is not None:
            return s.m0.p.timers.delete(t)  # in a run's teardown: keep the heap's counts
        was, t.active = t.active, False  # at interpreter exit: the timer can never fire
        return was
    return _timers().delete(t)


def reset_timer(t: Timer, seconds: float, period_s: float | None = None) -> bool:
    """Move t to fire ``seconds`` from now; True if it was pending."""
    try:
        proc.getg()
    except NotInGoroutine as e:  # another thread: run it on the M
        return cgocallback(e.s, reset_timer, t, seconds, period_s)  # type: ignore[no-any-return]
    if period_s is not None:
        t.period = to_ns(period_s)
    return _timers().modify(t, when_after(to_ns(seconds)))
