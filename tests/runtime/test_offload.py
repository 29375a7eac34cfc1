"""gort.offload: blocking calls on worker threads while goroutines keep running."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

import gort

from ..conftest import run_testprog


def test_offload_returns_value_and_others_keep_running() -> None:
    def main() -> tuple[str, int]:
        ticks = [0]
        stop = [False]

        def ticker() -> None:
            while not stop[0]:
                ticks[0] += 1
                gort.sleep(0.005)

        gort.go(ticker)
        v = gort.offload(lambda: (time.sleep(0.3), "slept")[1])
        stop[0] = True
        return v, ticks[0]

    v, ticks = gort.run(main)
    # 60 ticks on a quiet machine; a loaded one may give the process a tenth of that.
    assert v == "slept" and ticks >= 6


def test_offload_delivers_the_exception_to_the_goroutine() -> None:
    def main() -> str:
        def fails() -> None:
            raise OSError("disk on fire")

        try:
            gort.offload(fails)
        except OSError as e:
            return str(e)
        return "no error"

    assert gort.run(main) == "disk on fire"


def test_many_concurrent_offloads_run_in_parallel_threads() -> None:
    def main() -> float:
        done: gort.Chan[str] = gort.Chan()
        barrier = threading.Barrier(8)
        t0 = time.monotonic()
        for _ in range(8):
            gort.go(lambda: done.send(gort.offload(lambda: (barrier.wait(5), "x")[1])))
        assert [done.recv() for _ in range(8)] == ["x"] * 8
        return time.monotonic() - t0

    assert gort.run(main) < 5


def test_waiting_for_an_offload_is_not_a_deadlock() -> None:
    def main() -> int:
        return gort.offload(lambda: (time.sleep(0.05), 7)[1])

    assert gort.run(main) == 7


def test_offload_rejects_non_callable() -> None:
    def main() -> None:
        with pytest.raises(TypeError, match="not callable"):
            gort.offload(3)  # type: ignore[call-overload]

    gort.run(main)


def test_offload_finishing_after_the_run_ended_is_harmless() -> None:
    """Regression: a late worker wrote to the closed netpoll pipe (EBADF, or a reused fd)."""
    import sys

    import gort.runtime as rt

    release = threading.Event()
    errors: list[object] = []
    offloaders: list[Any] = []

    def main() -> None:
        def slow() -> None:
            release.wait(5)

        gort.go(gort.offload, slow)
        gort.sleep(0.01)  # the worker is inside slow() when main returns
        offloaders.append(rt.current_sched().offloader)

    old_hook = sys.unraisablehook  # where a raw worker thread's failure would go
    sys.unraisablehook = errors.append
    try:
        gort.run(main)
        release.set()
        deadline = time.monotonic() + 5
        while offloaders[0].nthreads and time.monotonic() < deadline:
            time.sleep(0.01)
        assert offloaders[0].nthreads == 0, "the worker must exit once its run has ended"
    finally:
        sys.unraisablehook = old_hook
    assert errors == []


def test_no_offloaded_call_waits_behind_another() -> None:
    """Issue 10: two quick submissions once shared one idle worker (event.wait blocked set)."""

    def main() -> tuple[bool, float]:
        gort.offload(time.sleep, 0)  # leaves one idle worker behind
        gort.sleep(0.05)  # ...parked and counted idle
        ev = threading.Event()
        got: gort.Chan[bool] = gort.Chan(1)
        gort.go(gort.offload, ev.set)
        gort.go(lambda: got.send(gort.offload(ev.wait, 5)))  # runnext: submits first
        t0 = time.monotonic()
        ok = got.recv()
        return bool(ok), time.monotonic() - t0

    ok, took = gort.run(main)
    assert ok is True
    assert took < 2.5, f"event.wait waited behind event.set for {took:.2f} s"


def test_many_concurrent_offloads_each_get_a_thread_and_idle_ones_are_reused() -> None:
    def main2() -> tuple[list[int], int]:
        barrier = threading.Barrier(20, timeout=10)
        out: gort.Chan[int] = gort.Chan(20)
        for i in range(20):
            gort.go(lambda i=i: out.send((gort.offload(barrier.wait), i)[1]))
        got = sorted(out.recv() for _ in range(20))  # type: ignore[type-var]
        # A second burst reuses the 20 idle workers: no new thread.
        before = threading.active_count()
        for _ in range(5):
            gort.offload(time.sleep, 0)
        return got, threading.active_count() - before

    got, new_threads = gort.run(main2)
    assert got == list(range(20))
    assert new_threads == 0


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
@pytest.mark.parametrize("how", ["monitoring", "settrace_all", "setprofile_all", "settrace"])
def test_sysmon_survives_a_programs_raising_global_callbacks(how: str,
                                                                 module: bool) -> None:
    # Before, on 3.13: the monitoring tool's PY_START callback raised on sysmon's first
    # frame (sysmon dead, no preemption for the rest of the run). Now sysmon is muted
    # from its first frame (m.newosproc).
    if how != "settrace" and sys.version_info < (3, 12):
        pytest.skip("sys.monitoring and threading.*_all_threads are 3.12+")
    r = run_testprog("monitoring_raise.py", how, module=module, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Sysmon._main" not in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "sysmon alive: True", r.stdout
    # The offloaded function is the program's: a global monitoring tool sees it (and its
    # exception is the call's); threading's hooks reach threading.Threads and the threads
    # alive when set, not gort's raw workers. Either way the worker survives.
    got = "offload raised: callback raised off the main thread" if how == "monitoring" \
        else "offload: 42"
    assert lines[1:3] == [got, got], r.stdout
    assert lines[3] == ("seen: ['work']" if how == "monitoring" else "seen: []"), r.stdout
    assert not any("gort/runtime" in line for line in lines[1:]), r.stdout


def test_a_goroutine_abandoned_in_offload_is_released_safely() -> None:
    # 3.13 segfaulted: the release read freed stack slots of gort.offload's frame.
    r = run_testprog("offload_abandoned.py", module=False, timeout=60)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr[-2000:]


def test_offload_runs_in_a_copy_of_the_goroutines_context() -> None:
    # Adversarial round 4 (issue 8, B11): the worker ran fn in its own empty context, so
    # a contextvar and decimal's precision set by the goroutine read as the defaults.
    import contextvars
    import decimal

    cv: contextvars.ContextVar[int | None] = contextvars.ContextVar("cv", default=None)
    out: dict[int, Any] = {}

    def read_and_set() -> tuple[int | None, int]:
        seen = (cv.get(), decimal.getcontext().prec)
        cv.set(-1)  # the worker's copy only
        return seen

    def g(k: int) -> None:
        cv.set(k)
        decimal.setcontext(decimal.Context(prec=10 + k))  # the goroutine's own
        out[k] = (gort.offload(read_and_set), cv.get())

    def main() -> None:
        wg = gort.sync.WaitGroup()
        for k in range(3):
            wg.go(g, k)
        wg.wait()

    gort.run(main)
    assert out == {k: ((k, 10 + k), k) for k in range(3)}
