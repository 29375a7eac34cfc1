"""Go 1.23 timer semantics: stop/reset leave no stale value; after_func (Go: time/sleep_test.go,
time/tick_test.go: TestAfterFunc, TestAfterStop, TestReset, testTimerChan, TestTickerReset)."""

from __future__ import annotations

import time

import pytest

import gort

from ..conftest import settle


def _ready(c: gort.Chan[float]) -> bool:
    i, _ = gort.select(c.recv, gort.default)
    return i == 0


def test_after_func_runs_in_its_own_goroutine() -> None:
    """Go: TestAfterFunc: a chain of after_funcs, each started by the previous one."""
    def main() -> int:
        done: gort.Chan[int] = gort.Chan()
        me = gort.current_id()
        n = [10]

        def f() -> None:
            assert gort.current_id() != me
            n[0] -= 1
            if n[0] > 0:
                gort.after_func(0.001, f)
            else:
                done.send(n[0])

        gort.after_func(0, f)
        v = done.recv()
        assert v is not None
        return v

    assert gort.run(main) == 0


def test_after_func_stop_and_reset() -> None:
    def main() -> list[object]:
        log: list[object] = []
        t = gort.after_func(3600, log.append, "never")
        assert t.stop() is True and t.stop() is False
        t2 = gort.after_func(0.001, log.append, "once")
        gort.sleep(0.02)
        assert t2.stop() is False  # it ran
        assert t2.reset(0.001) is False  # re-armed: runs again
        gort.sleep(0.02)
        assert not _ready(t2.c)  # an after_func timer's channel never receives
        with pytest.raises(TypeError, match="not callable"):
            gort.after_func(1, None)  # type: ignore[arg-type]
        return log

    assert gort.run(main) == ["once", "once"]


def test_after_stop() -> None:
    """Go: TestAfterStop: stopped timers and after_funcs never deliver."""
    def main() -> None:
        errs: list[str] = []
        t0 = gort.after_func(0.05, lambda: errs.append("after_func fired"))
        t1 = gort.Timer(0.05)
        c1 = t1.c
        c2 = gort.after(0.1)
        assert t0.stop() and t1.stop()
        c2.recv()
        assert errs == []
        assert not _ready(c1), "stopped timer delivered"
        assert t1.reset(0.001) is False
        assert t1.c.recv() is not None

    gort.run(main)


def test_reset_reports_pending() -> None:
    """Go: TestReset: reset of a pending timer returns True, of a fired one False."""
    def main() -> None:
        t = gort.Timer(0.05)
        assert t.reset(0.1) is True, "reset of a pending timer"
        gort.sleep(0.02)
        assert not _ready(t.c), "the timer fired at its old time"
        t.c.recv()
        assert t.reset(0.01) is False, "reset of a fired (and received) timer"
        t.c.recv()

    gort.run(main)


def test_no_stale_value_after_stop_or_reset() -> None:
    """Go 1.23 testTimerChan: a sent but unreceived value is discarded by stop and reset."""
    def main() -> None:
        t = gort.Timer(0.001)
        gort.sleep(0.02)
        assert len(t.c) == 1  # fired, not received
        assert t.stop() is True, "stop discards the unreceived value and reports it"
        assert not _ready(t.c)
        assert t.stop() is False

        t = gort.Timer(0.001)
        gort.sleep(0.02)
        assert len(t.c) == 1
        t0 = time.monotonic()
        assert t.reset(0.03) is True
        v = t.c.recv()
        assert v is not None and v - t0 >= 0.03, "got the stale value"

        # Ticker: reset and stop discard an unreceived tick too.
        tk = gort.Ticker(0.001)
        gort.sleep(0.02)
        assert len(tk.c) == 1
        tk.reset(3600)
        assert not _ready(tk.c)
        tk.reset(0.001)
        tk.c.recv()
        gort.sleep(0.02)
        tk.stop()
        assert not _ready(tk.c)
        gort.sleep(0.01)
        assert not _ready(tk.c), "a stopped ticker ticked"

    gort.run(main)


def test_ticker_reset_changes_period() -> None:
    """Go: TestTickerResetLtZeroDuration and TestTicker's reset half."""
    def main() -> float:
        tk = gort.Ticker(3600)
        tk.reset(0.005)
        t0 = time.monotonic()
        for _ in range(4):
            tk.c.recv()
        dt = time.monotonic() - t0
        for bad in (0, -1, 0.0):
            with pytest.raises(ValueError, match="non-positive interval"):
                tk.reset(bad)
        tk.c.recv()  # a rejected reset left the ticker running as it was
        tk.stop()
        return dt

    assert 0.02 <= gort.run(main) < 1.0


def test_stop_stress() -> None:
    """Go: TestTimerStopStress: many timers stopped before they fire never fire."""
    def main() -> None:
        fired: list[int] = []
        timers = [gort.after_func(0.05, fired.append, i) for i in range(200)]
        for t in timers:
            assert t.stop()
        gort.sleep(0.1)
        settle()
        assert fired == []

    gort.run(main)
