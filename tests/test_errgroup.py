"""gort.errgroup (logic ported from golang.org/x/sync/errgroup/errgroup_test.go)."""

from __future__ import annotations

import pytest

import gort
from gort import context, errgroup
from gort.context import Canceled

from .conftest import settle


class Err1(Exception):
    pass


class Err2(Exception):
    pass


def test_zero_group_returns_first_error() -> None:
    """Go: TestZeroGroup: wait raises the first error among those raised, or nothing."""
    def main() -> None:
        cases: list[list[Exception | None]] = [
            [], [None], [Err1()], [Err1(), None], [None, Err1(), Err2()]]
        for errs in cases:
            g = errgroup.Group()
            first: Exception | None = None
            for e in errs:
                def f(e: Exception | None = e) -> None:
                    if e is not None:
                        raise e
                g.go(f)
                settle()  # each goroutine runs to the end before the next starts
                if first is None and e is not None:
                    first = e
                    with pytest.raises(type(e)) as ei:
                        g.wait()
                    assert ei.value is first
            if first is None:
                g.wait()
            else:
                with pytest.raises(type(first)) as ei:
                    g.wait()
                assert ei.value is first
                assert g.errors == [e for e in errs if e is not None]

    gort.run(main)


def test_with_context_cancels_on_first_error() -> None:
    """Go: TestWithContext: the derived context is done after wait, with the error as cause."""
    def main() -> None:
        for errs in ([], [None], [Err1()], [Err1(), None], [None, Err1()]):
            g, ctx = errgroup.with_context(context.background())
            for e in errs:
                def f(e: Exception | None = e) -> None:
                    if e is not None:
                        raise e
                g.go(f)
            first = next((e for e in errs if e is not None), None)
            if first is None:
                g.wait()
            else:
                with pytest.raises(type(first)):
                    g.wait()
            i, _ = gort.select(ctx.done().recv, gort.default)
            assert i == 0, "the context is not done after wait"
            assert isinstance(ctx.err(), Canceled)
            if first is not None:
                assert context.cause(ctx) is first

    gort.run(main)


def test_first_error_cancels_siblings_before_wait() -> None:
    def main() -> list[str]:
        g, ctx = errgroup.with_context(context.background())
        log: list[str] = []

        def worker(i: int) -> None:
            ctx.done().recv()
            log.append(f"stopped {i}")
            raise ctx.err()  # type: ignore[misc]

        def failing() -> None:
            gort.sleep(0.01)
            raise Err1("first")

        for i in range(3):
            g.go(worker, i)
        g.go(failing)
        with pytest.raises(Err1) as ei:
            g.wait()
        assert len(g.errors) == 4 and isinstance(g.errors[1], Canceled)
        assert ei.value.__notes__ == [
            "errgroup: 3 more goroutines failed: " + ", ".join(
                ["Canceled('context canceled')"] * 3) + " (Group.errors has them all)"]
        with pytest.raises(Err1):
            g.wait()  # again: the same error, the note not repeated
        assert len(ei.value.__notes__) == 1
        return sorted(log)

    assert gort.run(main) == ["stopped 0", "stopped 1", "stopped 2"]


def test_try_go_and_limit() -> None:
    """Go: TestTryGo."""
    def main() -> None:
        g = errgroup.Group()
        n = 42
        g.set_limit(42)
        ch: gort.Chan[None] = gort.Chan()
        for i in range(n):
            assert g.try_go(ch.send, None), f"try_go {i} should succeed"
        assert not g.try_go(ch.send, None), "try_go beyond the limit should fail"
        for _ in range(n):
            ch.recv()
        g.wait()
        g.set_limit(1)
        assert g.try_go(lambda: None)
        assert not g.try_go(lambda: None)
        g.wait()
        assert g.try_go(lambda: None), "a slot frees when a goroutine returns"
        g.wait()

    gort.run(main)


def test_go_limit_bounds_concurrency() -> None:
    """Go: TestGoLimit: never more than the limit running at once."""
    def main() -> int:
        limit = 10
        g = errgroup.Group()
        g.set_limit(limit)
        active = [0]
        peak = [0]

        def work() -> None:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            assert active[0] <= limit
            gort.sleep(0.001)
            active[0] -= 1

        for _ in range(50):
            g.go(work)
        g.wait()
        return peak[0]

    assert gort.run(main) == 10


def test_set_limit_while_active_and_negative() -> None:
    def main() -> None:
        g = errgroup.Group()
        g.set_limit(2)
        ch: gort.Chan[None] = gort.Chan()
        g.go(ch.recv)
        with pytest.raises(RuntimeError, match="modify limit while 1 goroutines"):
            g.set_limit(5)
        g.set_limit(-1)  # no limit: allowed, as Go
        for _ in range(5):
            assert g.try_go(lambda: None)
        ch.send(None)
        g.wait()
        with pytest.raises(TypeError, match="not callable"):
            g.go(None)  # type: ignore[arg-type]

    gort.run(main)


def test_context_manager_waits_and_raises() -> None:
    def main() -> list[str]:
        log: list[str] = []
        with errgroup.Group() as g:
            g.go(lambda: (gort.sleep(0.005), log.append("a")))
            g.go(lambda: log.append("b"))
        assert sorted(log) == ["a", "b"]

        def boom() -> None:
            raise Err1("x")

        with pytest.raises(Err1), errgroup.Group() as g:
            g.go(boom)

        # The body raising: the context is cancelled, the goroutines waited for, and
        # the body's exception propagates with a note about the group's error.
        g2, ctx = errgroup.with_context(context.background())

        def body() -> None:
            with g2:
                g2.go(lambda: (ctx.done().recv(), log.append("cancelled"), boom()))
                raise Err2("body")

        with pytest.raises(Err2) as ei:
            body()
        assert log[-1] == "cancelled"
        assert ei.value.__notes__ == [
            "errgroup: a goroutine of the group also failed: Err1('x')"]
        assert isinstance(context.cause(ctx), Err2)
        return log

    gort.run(main)


def test_base_exceptions_are_not_errors() -> None:
    """A KeyboardInterrupt in a goroutine of the group escapes it, as uncaught."""
    def main() -> None:
        g = errgroup.Group()

        def stop() -> None:
            raise KeyboardInterrupt

        g.go(stop)
        g.wait()

    with pytest.raises(KeyboardInterrupt):
        gort.run(main)


def test_goroutines_of_a_group_are_preemptible(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry wrapper does not make the user's function look like gort's code."""
    def main() -> int:
        g = errgroup.Group()
        stop = [False]

        def spin() -> None:
            while not stop[0]:
                pass

        g.go(spin)
        gort.sleep(0.02)  # runs only if spin is preempted
        stop[0] = True
        g.wait()
        return gort.stats()["preempt_async"]

    assert gort.run(main) >= 1
