"""Every value that enters the API or the environment is checked, with a message that helps."""

from __future__ import annotations

import math
import time
import tracemalloc

import pytest

import gort


@pytest.mark.parametrize("d", [-math.inf, -1e300, -1, 0])
def test_sleep_non_positive_returns_at_once(d: float) -> None:
    def main() -> float:
        t0 = time.monotonic()
        gort.sleep(d)
        return time.monotonic() - t0

    assert gort.run(main) < 1.0


@pytest.mark.parametrize("d", [math.inf, 1e300, 2**80])
def test_huge_sleeps_and_timers_never_fire_and_never_crash_the_idle_wait(d: float) -> None:
    def main() -> list[bool]:
        out: list[bool] = []

        def sleeper() -> None:
            gort.sleep(d)
            out.append(True)  # never

        gort.go(sleeper)
        t = gort.Timer(d)
        tk = gort.Ticker(d)
        gort.sleep(0.05)  # the M idles with those timers pending: no OverflowError
        out.append(t.stop())
        tk.stop()
        return out

    assert gort.run(main) == [True]


def test_timer_thirty_days_away_lets_the_scheduler_idle() -> None:
    def main() -> str:
        gort.go(gort.sleep, 30 * 86400)
        gort.sleep(0.02)
        return "ok"

    assert gort.run(main) == "ok"


def test_after_minus_infinity_fires_at_once() -> None:
    def main() -> bool:
        return gort.after(-math.inf).recv() is not None

    assert gort.run(main) is True


@pytest.mark.parametrize(("bad", "err", "text"), [
    ("1", TypeError, "number of seconds"),
    (None, TypeError, "number of seconds"),
    (True, TypeError, "number of seconds"),
    (math.nan, ValueError, "NaN"),
])
def test_bad_durations_say_what_a_duration_is(bad: object, err: type[Exception],
                                              text: str) -> None:
    def main() -> None:
        for call in (gort.sleep, gort.after, gort.Timer, gort.Ticker):
            with pytest.raises(err, match=text):
                call(bad)  # type: ignore[arg-type]

    gort.run(main)


@pytest.mark.parametrize("bad", [-math.inf, 0, -1])
def test_ticker_needs_a_positive_interval(bad: float) -> None:
    def main() -> None:
        with pytest.raises(ValueError, match="non-positive interval"):
            gort.Ticker(bad)

    gort.run(main)


def test_chan_size_beyond_any_capacity_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"gort.Chan: size .* larger than the largest"):
        gort.Chan(2**70)
    with pytest.raises(TypeError, match="size must be an int"):
        gort.Chan(1.5)  # type: ignore[arg-type]


def test_huge_buffered_chan_allocates_only_what_it_holds() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        c: gort.Chan[int] = gort.Chan(10**9)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used < 10_000, used
    assert c.cap == 10**9 and len(c) == 0

    def main() -> list[int]:
        for i in range(1000):
            c.send(i)
        return [c.recv() for _ in range(1000)]  # type: ignore[misc]

    assert gort.run(main) == list(range(1000))


@pytest.mark.parametrize("seed", ["abc", "-1", "1.5", "٣"])
def test_malformed_gort_seed_is_an_error(seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GORT_SEED", seed)
    with pytest.raises(ValueError, match=r"GORT_SEED=.* is not a non-negative integer"):
        gort.run(lambda: None)


def test_gort_seed_replays_and_empty_means_random(monkeypatch: pytest.MonkeyPatch) -> None:
    import gort.runtime as rt

    monkeypatch.setenv("GORT_SEED", "42")
    assert gort.run(lambda: rt.current_sched().seed) == 42
    monkeypatch.setenv("GORT_SEED", "")
    assert isinstance(gort.run(lambda: rt.current_sched().seed), int)


def test_async_functions_are_refused_with_a_clear_error() -> None:
    async def amain() -> int:
        return 1

    with pytest.raises(TypeError, match=r"gort.run: .* is an async function; gort runs plain"):
        gort.run(amain)

    def main() -> None:
        with pytest.raises(TypeError, match=r"gort.go: .* is an async function"):
            gort.go(amain)

    gort.run(main)


def test_gomaxprocs_beyond_gos_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def main() -> None:
        with pytest.raises(ValueError, match="more than 1024 Ps"):
            gort.gomaxprocs(2**70)

    gort.run(main)
    monkeypatch.setenv("GOMAXPROCS", "5000")
    with pytest.raises(ValueError, match="GOMAXPROCS='5000' is more than 1024 Ps"):
        gort.run(lambda: None)
