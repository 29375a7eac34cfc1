"""Timers, sleep, after, Timer, Ticker (Go: time package tests, runtime/time.go)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort.runtime.timers import Timer, Timers


def test_sleep_is_accurate_to_the_os_timer_when_idle() -> None:
    def main() -> list[float]:
        out = []
        for _ in range(10):
            t = time.perf_counter()
            gort.sleep(0.001)
            out.append(time.perf_counter() - t)
        return sorted(out)

    out = gort.run(main)
    assert out[0] >= 0.001
    assert out[5] < 0.01, out  # a 1 ms sleep (median) must not wait for a 10 ms slice


def test_sleep_zero_or_negative_only_yields() -> None:
    def main() -> list[str]:
        log: list[str] = []
        gort.go(log.append, "other")
        gort.sleep(0)
        gort.sleep(-1)
        log.append("main")
        return log

    assert gort.run(main) == ["other", "main"]


def test_sleepers_wake_in_deadline_order() -> None:
    """Sleepers wake in deadline order, never early.

    Each sleeper aims at base + i * 5 ms. Two sleepers may wake out of deadline order
    only if both were due when the first woke (a loaded machine can stall the process
    past several deadlines; the expired timers then run together, as in Go, where
    goready puts each in runnext). A sleeper that woke before an earlier-deadline one
    was due is the failure this test catches.
    """

    def main() -> list[tuple[int, float, float]]:
        out: list[tuple[int, float, float]] = []
        done: gort.Chan[None] = gort.Chan(5)
        base = time.monotonic() + 0.05  # every sleeper parks well before the first deadline

        def sleeper(i: int) -> None:
            deadline = base + i * 0.005
            gort.sleep(deadline - time.monotonic())
            out.append((i, deadline, time.monotonic()))
            done.send(None)

        for i in (3, 1, 4, 2, 5):
            gort.go(sleeper, i)
        for _ in range(5):
            done.recv()
        return out

    out = gort.run(main)
    assert sorted(i for i, _, _ in out) == [1, 2, 3, 4, 5]
    for i, deadline, woke in out:
        assert woke >= deadline, (i, woke - deadline)
    for (a, _, woke_a), (b, deadline_b, _) in itertools.pairwise(out):
        assert a < b or woke_a >= deadline_b, out


def test_after_sends_monotonic_time_once() -> None:
    def main() -> tuple[float, float, int]:
        t0 = time.monotonic()
        c = gort.after(0.01)
        v = c.recv()
        assert v is not None
        return t0, v, len(c)

    t0, v, n = gort.run(main)
    assert v - t0 >= 0.01 and n == 0


def test_timer_stop_and_reset() -> None:
    def main() -> tuple[bool, bool, int, bool, float]:
        t = gort.Timer(0.01)
        stopped = t.stop()
        again = t.stop()
        gort.sleep(0.02)
        n = len(t.c)
        t0 = time.monotonic()
        was = t.reset(0.01)
        v = t.c.recv()
        assert v is not None
        return stopped, again, n, was, v - t0

    stopped, again, n, was, dt = gort.run(main)
    assert (stopped, again, n, was) == (True, False, 0, False)
    assert dt >= 0.01


def test_ticker_drops_ticks_for_a_slow_receiver() -> None:
    def main() -> tuple[int, int]:
        tk = gort.Ticker(0.005)
        gort.offload(time.sleep, 0.05)  # ~10 ticks pass; the channel holds one
        first = len(tk.c)
        tk.c.recv()
        t0 = time.monotonic()
        tk.c.recv()
        waited_ms = int((time.monotonic() - t0) * 1000)
        tk.stop()
        return first, waited_ms

    first, waited_ms = gort.run(main)
    assert first == 1
    assert waited_ms <= 50  # the next tick within a period (5 ms): 10x for a loaded machine


def test_ticker_keeps_period() -> None:
    def main() -> float:
        tk = gort.Ticker(0.01)
        t0 = time.monotonic()
        for _ in range(10):
            tk.c.recv()
        tk.stop()
        return time.monotonic() - t0

    # Never early; late only by what the machine's load adds (bound: 10x the period).
    assert 0.09 <= gort.run(main) < 1.0


@pytest.mark.parametrize("bad", [0, -1, 0.0])
def test_ticker_rejects_non_positive_interval(bad: float) -> None:
    def main() -> None:
        with pytest.raises(ValueError, match="non-positive interval"):
            gort.Ticker(bad)

    gort.run(main)


@pytest.mark.parametrize(("bad", "err"), [("1", TypeError), (None, TypeError),
                                          (float("nan"), ValueError)])
def test_durations_must_be_numbers(bad: object, err: type[Exception]) -> None:
    def main() -> None:
        with pytest.raises(err, match="seconds"):
            gort.sleep(bad)  # type: ignore[arg-type]

    gort.run(main)


def test_timer_heap_drops_stale_entries_and_bounds_growth() -> None:
    ts = Timers()
    fired: list[int] = []
    timers = [Timer(100 + i, 0, lambda a, now: fired.append(a), i) for i in range(200)]
    for t in timers:
        ts.add(t)
    for t in timers[:150]:
        assert ts.delete(t)
    assert not ts.delete(timers[0])
    assert len(ts) == 50 and len(ts.heap) <= 120  # rebuilt once stale entries dominated
    ts.modify(timers[199], 50)
    assert ts.next_when() == 50
    assert ts.run(10_000) == 50
    assert fired[0] == 199 and sorted(fired) == list(range(150, 200))
    assert ts.next_when() is None


def test_periodic_timer_skips_missed_periods() -> None:
    ts = Timers()
    fired: list[int] = []
    t = Timer(10, 10, lambda a, now: fired.append(now), None)
    ts.add(t)
    ts.run(55)  # due at 10; periods at 20..50 were missed
    assert fired == [55] and t.when == 60
    assert rt.to_ns(0.5) == 500_000_000


def test_a_timer_function_that_stops_others_never_fires_one_twice() -> None:
    """Stopping many timers from a timer function rebuilds the heap while run() loops on it."""
    def main() -> dict[int, int]:
        fired: dict[int, int] = {}
        timers: list[Any] = []

        def note(i: int, _now: int) -> None:
            fired[i] = fired.get(i, 0) + 1

        def stop_most(_arg: object, _now: int) -> None:
            for t in timers[10:]:
                rt.stop_timer(t)

        rt.start_timer(0.001, 0, stop_most, None)
        timers.extend(rt.start_timer(0.001 + i * 1e-6, 0, note, i) for i in range(100))
        gort.sleep(0.05)
        return fired

    fired = gort.run(main)
    assert all(n == 1 for n in fired.values()), fired
    assert set(range(10)) <= set(fired)
