"""The scheduler and goroutine lifecycle (Go: proc_test.go)."""

from __future__ import annotations

import contextvars
import decimal
import resource
import threading
from typing import Any

import pytest
from greenlet import getcurrent

import gort
import gort.runtime as rt

from ..conftest import settle


def test_run_returns_mains_value_and_passes_arguments() -> None:
    assert gort.run(lambda a, b=0: a + b, 2, b=3) == 5


def test_run_can_run_twice_and_leaves_nothing_behind() -> None:
    for _ in range(2):
        assert gort.run(gort.current_id) == 1
    assert rt.running() is None
    assert [t.name for t in threading.enumerate() if t.name.startswith("gort-")] == []


def test_run_inside_a_running_program_raises() -> None:
    def main() -> None:
        with pytest.raises(RuntimeError, match="already running"):
            gort.run(lambda: None)

    gort.run(main)


def test_run_with_non_callable_raises_type_error() -> None:
    with pytest.raises(TypeError, match="not callable"):
        gort.run(42)  # type: ignore[arg-type]


def test_go_with_non_callable_raises_and_starts_nothing() -> None:
    def main() -> int:
        n = gort.num_goroutine()
        with pytest.raises(TypeError, match=r"gort.go\(worker, 1\)"):
            gort.go(None)  # type: ignore[arg-type]
        assert gort.num_goroutine() == n
        done: gort.Chan[int] = gort.Chan()
        gort.go(done.send, 1)  # still usable
        return done.recv()  # type: ignore[return-value]

    assert gort.run(main) == 1


def test_goroutine_ids_and_count() -> None:
    def main() -> tuple[int, list[int], int, int]:
        ids: list[int] = []
        block: gort.Chan[None] = gort.Chan()
        for _ in range(3):
            gort.go(lambda: (ids.append(gort.current_id()), block.recv()))
        settle()
        n = gort.num_goroutine()
        block.close()
        settle()
        return gort.current_id(), sorted(ids), n, gort.num_goroutine()

    assert gort.run(main) == (1, [2, 3, 4], 4, 1)


def test_newest_goroutine_runs_next_then_fifo() -> None:
    """newproc puts the new G in runnext; the one it displaces goes to the queue's tail."""
    def main() -> list[int]:
        order: list[int] = []
        for i in range(4):
            gort.go(order.append, i)
        settle()
        return order

    assert gort.run(main) == [3, 0, 1, 2]


def test_gosched_lets_others_run() -> None:
    def main() -> list[str]:
        log: list[str] = []

        def other() -> None:
            log.append("other")

        gort.go(other)
        log.append("main")
        gort.gosched()
        log.append("main again")
        return log

    assert gort.run(main) == ["main", "other", "main again"]


def test_finished_goroutines_are_reused_not_recreated() -> None:
    def main() -> tuple[int, int]:
        grs = set()
        for _ in range(200):
            done: gort.Chan[None] = gort.Chan()
            gort.go(lambda: (grs.add(getcurrent()), done.close()))  # noqa: B023
            done.recv()
        s = rt.running()
        assert s is not None
        return len(grs), len(s.allgs)

    ngr, nallgs = gort.run(main)
    assert ngr <= 2 and nallgs <= 3


def test_deep_chains_of_goroutines_starting_goroutines() -> None:
    """Greenlets start from g0, never nested: no RecursionError after 500 levels."""
    def main() -> int:
        done: gort.Chan[int] = gort.Chan()

        def level(n: int) -> None:
            if n == 0:
                done.send(1)
                return
            gort.go(level, n - 1)
            gort.sleep(0.0001)

        gort.go(level, 3000)
        return done.recv()  # type: ignore[return-value]

    assert gort.run(main) == 1


def test_main_return_abandons_other_goroutines() -> None:
    ran_after: list[str] = []

    def main() -> str:
        def blocked() -> None:
            gort.Chan().recv()
            ran_after.append("resumed")  # never: abandoned goroutines never run again

        gort.go(blocked)
        gort.go(lambda: (gort.sleep(10), ran_after.append("woke")))
        settle()
        return "done"

    assert gort.run(main) == "done"
    assert ran_after == []


def test_uncaught_exception_in_goroutine_ends_run_with_note() -> None:
    def main() -> None:
        def boom() -> None:
            raise ValueError("boom")

        gort.go(boom)
        gort.sleep(1)
        raise AssertionError("main must not resume after a panic")

    with pytest.raises(ValueError, match="boom") as ei:
        gort.run(main)
    assert "gort: uncaught in goroutine 2" in ei.value.__notes__


@pytest.mark.parametrize("in_main", [False, True])
def test_greenlet_exit_raised_by_the_program_is_a_panic(in_main: bool) -> None:
    # greenlet hands a GreenletExit escaping a greenlet to its parent as a value; that
    # once reached the scheduler as "the next G" (AttributeError: no attribute 'gr').
    from greenlet import GreenletExit

    def boom() -> None:
        raise GreenletExit("bye")

    def main() -> None:
        if in_main:
            boom()
        gort.go(boom)
        gort.sleep(1)
        raise AssertionError("main must not resume after a panic")

    with pytest.raises(GreenletExit, match="bye") as ei:
        gort.run(main)
    assert f"gort: uncaught in goroutine {1 if in_main else 2}" in ei.value.__notes__


def test_uncaught_exception_in_main_goroutine_is_reraised() -> None:
    def main() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError) as ei:
        gort.run(main)
    assert "gort: uncaught in goroutine 1" in ei.value.__notes__


def test_deadlock_raises_with_go_message_and_each_goroutines_wait() -> None:
    def main() -> None:
        c: gort.Chan[int] = gort.Chan()
        mu = gort.sync.Mutex()
        mu.lock()
        gort.go(c.send, 1)
        gort.go(mu.lock)
        gort.Chan().recv()

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    err = ei.value
    assert str(err) == "all goroutines are asleep - deadlock!"
    assert isinstance(err, RuntimeError)
    assert "goroutine 1 [chan receive]:" in err.goroutines
    assert "goroutine 2 [chan send]:" in err.goroutines
    assert "goroutine 3 [sync.Mutex.Lock]:" in err.goroutines
    assert "test_proc.py" in err.goroutines


def test_no_deadlock_while_a_timer_is_pending() -> None:
    def main() -> str:
        c: gort.Chan[str] = gort.Chan()
        gort.go(lambda: (gort.sleep(0.02), c.send("late")))
        return c.recv()  # type: ignore[return-value]

    assert gort.run(main) == "late"


def test_gomaxprocs_sets_and_queries() -> None:
    def main() -> tuple[int, int, int, int]:
        a = gort.gomaxprocs(0)
        b = gort.gomaxprocs(4)
        c = gort.gomaxprocs()
        done: gort.Chan[int] = gort.Chan()
        for i in range(10):
            gort.go(done.send, i)
        total = sum(done.recv() for _ in range(10))  # type: ignore[misc]
        d = gort.gomaxprocs(1)
        return a, b, c, total + 0 * d

    assert gort.run(main) == (1, 1, 4, 45)


def test_gomaxprocs_rejects_non_int() -> None:
    def main() -> None:
        with pytest.raises(TypeError, match="must be an int"):
            gort.gomaxprocs("2")  # type: ignore[arg-type]

    gort.run(main)


def test_gomaxprocs_env_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv("GOMAXPROCS", bad)
        with pytest.raises(ValueError, match=r"GOMAXPROCS=.* is not a positive integer"):
            gort.run(lambda: None)
    monkeypatch.setenv("GOMAXPROCS", "3")
    assert gort.run(gort.gomaxprocs) == 3


def test_idle_scheduler_uses_no_cpu() -> None:
    def main() -> float:
        before = resource.getrusage(resource.RUSAGE_SELF)
        gort.sleep(0.3)
        after = resource.getrusage(resource.RUSAGE_SELF)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    assert gort.run(main) < 0.05


def test_call_from_a_foreign_thread_says_what_to_do() -> None:
    def main() -> str:
        out: list[str] = []

        def foreign() -> None:
            try:
                gort.Chan(1).send(1)
            except RuntimeError as e:
                out.append(str(e))

        t = threading.Thread(target=foreign)
        t.start()
        gort.offload(t.join)
        return out[0]

    msg = gort.run(main)
    assert "runs no goroutines" in msg and "gort.offload" in msg


def test_run_on_another_thread_warns_and_preempts_synchronously() -> None:
    result: list[Any] = []

    def main() -> int:
        c: gort.Chan[int] = gort.Chan()
        gort.go(c.send, 5)
        return c.recv()  # type: ignore[return-value]

    def thread_main() -> None:
        with pytest.warns(rt.PreemptionWarning, match="needs the main thread"):
            result.append(gort.run(main))

    t = threading.Thread(target=thread_main)
    t.start()
    t.join(10)
    assert result == [5]


def test_stats_count_goroutines() -> None:
    def main() -> dict[str, Any]:
        for _ in range(5):
            gort.go(lambda: None)
        settle()
        return gort.stats()

    st = gort.run(main)
    assert st["goroutines_created"] == 6 and st["goroutines"] == 1


def test_implicit_start_in_a_plain_script() -> None:
    from ..conftest import run_testprog

    r = run_testprog("implicit.py", module=False, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["1 3", "sum 45", "done"]


# -- contextvars: each goroutine starts with a copy of its creator's context --------

_CV: contextvars.ContextVar[str] = contextvars.ContextVar("gort_test_cv", default="unset")


def test_goroutine_starts_with_a_copy_of_its_creators_context() -> None:
    def main() -> list[tuple[str, ...]]:
        out: gort.Chan[tuple[str, ...]] = gort.Chan()
        _CV.set("main")

        def child() -> None:
            seen = _CV.get()
            _CV.set("child")  # its own copy: main does not see this
            out.send((seen, _CV.get()))

        gort.go(child)
        got = [out.recv()]
        got.append((_CV.get(),))
        return got

    assert gort.run(main) == [("main", "child"), ("main",)]


def test_reused_goroutine_does_not_inherit_a_finished_goroutines_context() -> None:
    def main() -> list[tuple[str, int]]:
        out: gort.Chan[tuple[str, int]] = gort.Chan()

        def first() -> None:
            _CV.set("g2")
            decimal.setcontext(decimal.Context(prec=5))
            out.send((_CV.get(), decimal.getcontext().prec))

        def second() -> None:
            out.send((_CV.get(), decimal.getcontext().prec))

        gort.go(first)
        a = out.recv()
        settle()  # first has finished: its G and greenlet are on the free list
        gort.go(second)  # reuses them
        return [a, out.recv()]

    assert gort.run(main) == [("g2", 5), ("unset", 28)]


def test_run_gives_main_a_copy_of_the_callers_context() -> None:
    token = _CV.set("caller")
    try:
        def main() -> str:
            seen = _CV.get()
            _CV.set("changed in main")
            return seen

        assert gort.run(main) == "caller"
        assert _CV.get() == "caller"
    finally:
        _CV.reset(token)


def test_gort_run_from_three_threads_at_once_runs_one() -> None:
    # The "already running" test and the claim were two steps: two threads both ran.
    import collections
    import threading
    import warnings

    res: collections.Counter[str] = collections.Counter()

    def main() -> int:
        ch: gort.Chan[int] = gort.Chan(1)
        gort.go(ch.send, 1)
        gort.sleep(0.01)
        return ch.recv() or 0

    def thread() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no asynchronous preemption off the main thread
            try:
                res[repr(gort.run(main))] += 1
            except RuntimeError as e:
                res["already" if "already running on another thread" in str(e) else str(e)] += 1

    for _ in range(5):
        res.clear()
        ts = [threading.Thread(target=thread) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        assert sum(res.values()) == 3 and res["1"] >= 1, res
        assert res["1"] + res["already"] == 3, res


def test_many_short_runs_print_nothing() -> None:
    # sysmon once reported "goroutine 0 has run for <uptime>s" at a run's start: P0 was
    # running with no slice begun (schedwhen 0) while a finalizer collection was due.
    import subprocess
    import sys

    code = ("import gort\n"
            "def m():\n"
            "    for i in range(3): gort.go(gort.sleep, 0.001)\n"
            "    gort.sleep(0.002)\n"
            "for i in range(200): gort.run(m)\n"
            "print('done')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (0, "done\n", "")


def test_idle_p_starts_a_new_slice() -> None:
    # A goroutine readied by its timer comes from runnext and inherits the slice; when the
    # P idled in between, the slice must still start anew. Before, 3000 short select()
    # parks moved the tick 0 times and sysmon reported "goroutine 1 has run for 2.2s
    # without stopping" (issue 12 adversarial pass, falsereport5.py).
    from gort.runtime import proc

    idles = [0]
    orig = proc.park_idle

    def counting(*args: Any) -> Any:
        idles[0] += 1
        return orig(*args)

    def main() -> tuple[int, int, int]:
        s = rt.running()
        assert s is not None and s.m0.p is not None
        pp = s.m0.p
        tick, when = pp.schedtick, pp.schedwhen
        for _ in range(50):
            gort.sleep(0.0005)
        return idles[0], pp.schedtick - tick, pp.schedwhen - when

    proc.park_idle = counting
    try:
        n, ticks, moved = gort.run(main)
    finally:
        proc.park_idle = orig
    assert n >= 50, n  # each sleep idled the P (the only goroutine)
    assert ticks >= n, (ticks, n)
    assert moved > 0
