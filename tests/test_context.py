"""gort.context (logic ported from Go's context/context_test.go and x_test.go)."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort import context
from gort.context import Canceled, Context, DeadlineExceeded

from .conftest import settle


def run(fn: Callable[[], Any]) -> Any:
    return gort.run(fn)


def is_done(ctx: Context) -> bool:
    i, _ = gort.select(ctx.done().recv, gort.default)
    return i == 0


def wait_done(ctx: Context, limit: float = 10.0) -> None:
    """Go's testDeadline: done must close within a generous bound."""
    i, _ = gort.select(ctx.done().recv, gort.after(limit).recv)
    assert i == 0, f"{ctx!r} not done within {limit}s"


def test_background_and_todo() -> None:
    def main() -> None:
        for c, name in ((context.background(), "context.Background"),
                        (context.todo(), "context.TODO")):
            assert repr(c) == name
            assert c.err() is None and c.deadline() is None and c.value("k") is None
            assert not is_done(c)

    run(main)


def test_with_cancel_propagates_down_not_up() -> None:
    """Go: TestWithCancel: cancelling one child leaves its sibling and parent alone."""
    def main() -> None:
        c1, cancel = context.with_cancel(context.background())
        assert repr(c1) == "context.Background.WithCancel"
        contexts = [c1]
        c2, _ = context.with_cancel(c1)
        c3, cancel3 = context.with_cancel(c1)
        contexts += [c2, c3]
        for c in contexts:
            assert not is_done(c) and c.err() is None
        cancel3()
        assert is_done(c3) and isinstance(c3.err(), Canceled)
        assert not is_done(c1) and not is_done(c2)
        cancel()
        for c in contexts:
            assert is_done(c), c
            assert isinstance(c.err(), Canceled)
            assert str(c.err()) == "context canceled"
        err = c1.err()
        cancel()  # again: nothing changes
        assert c1.err() is err

    run(main)


def test_parent_finishes_child_and_detaches_it() -> None:
    """Go: TestParentFinishesChild."""
    def main() -> None:
        parent, cancel = context.with_cancel(context.background())
        cancel_child, stop_child = context.with_cancel(parent)
        timer_child, stop_timer = context.with_timeout(parent, 3600)
        value_child = context.with_value(parent, "key", "value")
        timer_under_value, stop_tv = context.with_timeout(value_child, 3600)
        pc = parent._children  # type: ignore[attr-defined]
        assert set(pc) == {cancel_child, timer_child, timer_under_value}
        assert value_child.value(context._CANCEL_KEY) is parent
        cancel()
        assert parent._children is None  # type: ignore[attr-defined]
        for c in (cancel_child, timer_child, value_child, timer_under_value):
            assert is_done(c)
            assert isinstance(c.err(), Canceled)
            assert c._registered is None if hasattr(c, "_registered") else True
        # A child made from a cancelled parent is born cancelled and unregistered.
        late, _ = context.with_cancel(parent)
        assert is_done(late) and isinstance(late.err(), Canceled)
        for f in (stop_child, stop_timer, stop_tv):
            f()

    run(main)


def test_child_finishes_first() -> None:
    """Go: TestChildFinishesFirst: cancelling the child removes it from the parent."""
    def main() -> None:
        for parent_cancellable in (False, True):
            cancel_parent: Callable[[], None] | None = None
            parent: Context = context.background()
            if parent_cancellable:
                parent, cancel_parent = context.with_cancel(parent)
            child, cancel_child = context.with_cancel(parent)
            if parent_cancellable:
                assert list(parent._children) == [child]  # type: ignore[attr-defined]
            cancel_child()
            if parent_cancellable:
                assert parent._children == {}  # type: ignore[attr-defined]
                assert not is_done(parent)
                assert cancel_parent is not None
                cancel_parent()
            assert isinstance(child.err(), Canceled)

    run(main)


def test_deadline_and_timeout() -> None:
    """Go: TestDeadline, TestTimeout: done closes, err is DeadlineExceeded."""
    def main() -> None:
        c, cancel = context.with_deadline(context.background(), time.monotonic() + 0.02)
        assert "WithDeadline(" in repr(c)
        wait_done(c)
        assert isinstance(c.err(), DeadlineExceeded)
        assert isinstance(c.err(), TimeoutError)
        assert str(c.err()) == "context deadline exceeded"
        cancel()
        assert isinstance(c.err(), DeadlineExceeded)  # cancel after the deadline: no change

        # A child's later deadline is capped by the parent's earlier one.
        o, cancel_o = context.with_timeout(context.background(), 0.02)
        c2, cancel2 = context.with_deadline(o, time.monotonic() + 3600)
        assert c2.deadline() == o.deadline()
        wait_done(c2)
        assert isinstance(c2.err(), DeadlineExceeded)
        cancel_o()
        cancel2()

        # A deadline in the past: done at once.
        c3, cancel3 = context.with_deadline(context.background(), time.monotonic() - 1)
        assert is_done(c3) and isinstance(c3.err(), DeadlineExceeded)
        cancel3()

    run(main)


def test_canceled_timeout_is_canceled_not_deadline() -> None:
    """Go: TestCanceledTimeout."""
    def main() -> None:
        c, cancel = context.with_timeout(context.background(), 3600)
        o = context.with_value(c, "a", 1)
        o2, cancel2 = context.with_cancel(o)
        cancel2()
        assert isinstance(o2.err(), Canceled) and not is_done(c)
        cancel()
        wait_done(o)
        assert isinstance(o.err(), Canceled)

    run(main)


class _Key1:
    pass


class _Key2:
    pass


def test_values() -> None:
    """Go: TestValues: nearest binding wins, unrelated keys pass through every kind."""
    def main() -> None:
        k1, k2, k3 = _Key1(), _Key2(), object()
        c0 = context.background()
        c1 = context.with_value(c0, k1, "c1k1")
        c2 = context.with_value(c1, k2, "c2k2")
        c3 = context.with_value(c2, k3, "c3k3")
        c4 = context.with_value(c3, k1, None)  # shadows c1's
        assert (c1.value(k1), c1.value(k2)) == ("c1k1", None)
        assert (c2.value(k1), c2.value(k2)) == ("c1k1", "c2k2")
        assert (c3.value(k1), c3.value(k2), c3.value(k3)) == ("c1k1", "c2k2", "c3k3")
        assert (c4.value(k1), c4.value(k3)) == (None, "c3k3")
        c5, cancel = context.with_cancel(c3)
        c6, cancel6 = context.with_timeout(c5, 3600)
        c7 = context.without_cancel(c6)
        for c in (c5, c6, c7):
            assert (c.value(k1), c.value(k2), c.value(k3)) == ("c1k1", "c2k2", "c3k3")
        # Keys match as Go's == does: the same object or an equal one.
        e = context.with_value(c0, ("a", 1), "tuple")
        assert e.value(("a", 1)) == "tuple" and e.value(("a", 2)) is None
        cancel6()
        cancel()

    run(main)


@pytest.mark.parametrize("key", [None, [], {}])
def test_with_value_checks_key(key: Any) -> None:
    """Go: TestWithValueChecksKey (nil and non-comparable keys panic)."""
    def main() -> None:
        with pytest.raises(TypeError, match="key"):
            context.with_value(context.background(), key, "v")

    run(main)


def test_invalid_parent_fails() -> None:
    """Go: TestInvalidDerivedFail (nil parent panics)."""
    def main() -> None:
        for f in (context.with_cancel, context.with_cancel_cause, context.without_cancel):
            with pytest.raises(TypeError, match="parent must be a Context"):
                f(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="parent must be a Context"):
            context.with_timeout(None, 1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="a timeout is a number of seconds"):
            context.with_timeout(context.background(), "1")  # type: ignore[arg-type]

    run(main)


def test_simultaneous_cancels_wake_every_waiter() -> None:
    """Go: TestSimultaneousCancels: many goroutines each waiting on one of many contexts."""
    def main() -> int:
        root, cancel = context.with_cancel(context.background())
        ctxs = [context.with_cancel(root)[0] for _ in range(20)]
        stops: gort.Chan[int] = gort.Chan(100)
        for i, c in enumerate(ctxs * 5):
            gort.go(lambda c=c, i=i: (c.done().recv(), stops.send(i % 20)))
        settle()
        cancel()
        got = sorted(stops.recv() for _ in range(100))  # type: ignore[type-var]
        assert got == sorted(list(range(20)) * 5)
        return len(got)

    assert run(main) == 100


def test_interlocked_cancels() -> None:
    """Go: TestInterlockedCancels: a child cancelled from a goroutine woken by its parent."""
    def main() -> None:
        parent, cancel_parent = context.with_cancel(context.background())
        child, cancel_child = context.with_cancel(parent)

        def on_parent() -> None:
            parent.done().recv()
            cancel_child()

        gort.go(on_parent)
        cancel_parent()
        wait_done(child)

    run(main)


@pytest.mark.parametrize("timeout", [False, True])
def test_layers(timeout: bool) -> None:
    """Go: TestLayersCancel/TestLayersTimeout: random stacks of value/cancel/timer nodes."""
    import random

    def main() -> None:
        rng = random.Random(20240601)
        for _ in range(50):
            ctx: Context = context.background()
            vals: list[tuple[object, int]] = []
            cancels: list[Callable[[], None]] = []
            n_timer = 0
            for depth in range(rng.randrange(1, 12)):
                kind = rng.randrange(3)
                if kind == 0:
                    k = object()
                    ctx = context.with_value(ctx, k, depth)
                    vals.append((k, depth))
                elif kind == 1:
                    ctx, cancel = context.with_cancel(ctx)
                    cancels.append(cancel)
                else:
                    ctx, cancel = context.with_timeout(ctx, 0.01 if timeout else 3600)
                    cancels.append(cancel)
                    n_timer += 1
            for k, v in vals:
                assert ctx.value(k) == v
            if not cancels:
                assert not is_done(ctx)
                continue
            if timeout and n_timer:
                wait_done(ctx)
                assert isinstance(ctx.err(), DeadlineExceeded)
            else:
                assert not is_done(ctx)
                rng.choice(cancels)()
                wait_done(ctx)
                assert isinstance(ctx.err(), Canceled)
            for k, v in vals:
                assert ctx.value(k) == v  # values outlive cancellation
            for c in cancels:
                c()

    run(main)


def test_cause() -> None:
    """Go: TestCause (the cases that do not depend on wall-clock races)."""
    class Boom(Exception):
        pass

    def main() -> None:
        bg = context.background()
        assert context.cause(bg) is None
        c, cancel = context.with_cancel(bg)
        assert context.cause(c) is None
        cancel()
        assert isinstance(context.cause(c), Canceled) and context.cause(c) is c.err()

        boom = Boom("why")
        c, cancel_cause = context.with_cancel_cause(bg)
        child, _ = context.with_cancel(c)
        vchild = context.with_value(child, "k", "v")
        cancel_cause(boom)
        assert isinstance(c.err(), Canceled)
        assert context.cause(c) is boom and context.cause(child) is boom
        assert context.cause(vchild) is boom
        cancel_cause(Boom("later"))  # no effect once cancelled
        assert context.cause(c) is boom

        c, cancel_cause = context.with_cancel_cause(bg)
        cancel_cause(None)
        assert isinstance(context.cause(c), Canceled)

        c, cancel_d = context.with_timeout_cause(bg, 0.01, boom)
        wait_done(c)
        assert isinstance(c.err(), DeadlineExceeded) and context.cause(c) is boom
        cancel_d()

        # The child's own cancel after its parent's: the parent's cause stays.
        p, cancel_p = context.with_cancel_cause(bg)
        ch, cancel_ch = context.with_cancel_cause(p)
        cancel_p(boom)
        cancel_ch(Boom("child"))
        assert context.cause(ch) is boom

        # without_cancel: never cancelled, no cause.
        w = context.without_cancel(p)
        assert w.err() is None and context.cause(w) is None and not is_done(w)
        assert w.deadline() is None

        with pytest.raises(TypeError, match="cause"):
            context.with_cancel_cause(bg)[1]("not an exception")  # type: ignore[arg-type]
        cancel_p(None)

    run(main)


def test_after_func_runs_after_cancel_in_its_own_goroutine() -> None:
    """Go: TestAfterFuncCalledAfterCancel, ...Asynchronously, ...NotCalledAfterStop."""
    def main() -> None:
        ctx, cancel = context.with_cancel(context.background())
        ran: gort.Chan[int] = gort.Chan(1)
        me = gort.current_id()
        stop = context.after_func(ctx, lambda: ran.send(gort.current_id()))
        settle()
        assert len(ran) == 0, "f ran before cancel"
        cancel()
        gid = ran.recv()
        assert gid is not None and gid != me
        assert stop() is False  # f already started

        ctx2, cancel2 = context.with_cancel(context.background())
        ran2: gort.Chan[int] = gort.Chan(1)
        stop2 = context.after_func(ctx2, ran2.send, 1)
        assert stop2() is True and stop2() is False
        assert ctx2._children == {}  # type: ignore[attr-defined]
        cancel2()
        settle()
        assert len(ran2) == 0, "f ran after stop"

        # Already done: f starts at once; timeout: f starts at the deadline.
        ran3: gort.Chan[str] = gort.Chan(2)
        context.after_func(ctx, ran3.send, "immediately")
        ctx4, cancel4 = context.with_timeout(context.background(), 0.01)
        context.after_func(ctx4, ran3.send, "timeout")
        assert sorted([ran3.recv(), ran3.recv()]) == ["immediately", "timeout"]  # type: ignore
        cancel4()

    run(main)


class _MyCtx(Context):
    """A user's own context: done when its channel is closed."""

    def __init__(self) -> None:
        self.ch: gort.Chan[None] = gort.Chan()
        self.e: BaseException | None = None

    def deadline(self) -> float | None:
        return None

    def done(self) -> gort.Chan[None]:
        return self.ch

    def err(self) -> BaseException | None:
        return self.e

    def value(self, key: Any) -> Any:
        return "mine" if key == "who" else None

    def cancel(self) -> None:
        self.e = Canceled()
        self.ch.close()


def test_custom_context_propagation() -> None:
    """Go: TestCustomContextGoroutines: a foreign parent is watched by a goroutine."""
    def main() -> None:
        n0 = gort.num_goroutine()
        mine = _MyCtx()
        c, cancel = context.with_cancel(mine)
        assert c.value("who") == "mine"
        assert gort.num_goroutine() == n0 + 1  # the watcher
        mine.cancel()
        wait_done(c)
        assert isinstance(c.err(), Canceled)
        settle()
        assert gort.num_goroutine() == n0  # the watcher ended
        cancel()
        mine2 = _MyCtx()
        _, cancel2 = context.with_cancel(mine2)
        cancel2()
        settle()
        assert gort.num_goroutine() == n0, "the watcher ends when the child is cancelled"

    run(main)


def test_no_leak_with_many_contexts() -> None:
    """10^5 contexts with timers, created and cancelled: no timer or child kept."""
    def main() -> tuple[int, int, int]:
        s = rt.running()
        assert s is not None and s.m0.p is not None
        timers = s.m0.p.timers
        parent, cancel_parent = context.with_cancel(context.background())
        base = len(timers.heap)
        refs = []
        peak = 0
        for i in range(100_000):
            c, cancel = context.with_timeout(parent, 3600)
            if i % 1000 == 0:
                refs.append(weakref.ref(c))
            cancel()
            peak = max(peak, len(timers.heap))
        # Created all first, then cancelled: the heap shrinks back too.
        batch = [context.with_timeout(parent, 3600) for _ in range(10_000)]
        assert len(parent._children) == 10_000  # type: ignore[attr-defined]
        for _, cancel in batch:
            cancel()
        del batch, c
        gc.collect()
        alive = sum(r() is not None for r in refs)
        assert parent._children == {}  # type: ignore[attr-defined]
        assert len(timers) == 0 or len(timers) == base
        cancel_parent()
        return peak - base, len(timers.heap) - base, alive

    peak, left, alive = run(main)
    assert peak <= 200, peak  # stale entries compacted (timers.py) as they pile up
    assert left <= 200, left
    assert alive == 0


def test_deadline_cancel_stops_timer_and_releases_ctx() -> None:
    def main() -> None:
        s = rt.running()
        assert s is not None and s.m0.p is not None
        timers = s.m0.p.timers
        n = len(timers)
        c, cancel = context.with_timeout(context.background(), 3600)
        assert len(timers) == n + 1
        r = weakref.ref(c)
        cancel()
        assert len(timers) == n
        del c, cancel  # the cancel function holds its context, as Go's closure does
        gc.collect()
        assert r() is None, "a stopped timer's stale heap entry kept the context alive"

    run(main)


def test_done_in_select_with_other_cases() -> None:
    def main() -> tuple[int, int]:
        ctx, cancel = context.with_cancel(context.background())
        work: gort.Chan[int] = gort.Chan()
        gort.go(lambda: (gort.sleep(0.01), cancel()))
        n = 0
        while True:
            i, _ = gort.select(ctx.done().recv, (work.send, n), gort.default)
            if i == 0:
                return i, n
            gort.sleep(0.001)
            n += 1

    i, _ = run(main)
    assert i == 0


def test_offload_ctx_returns_raises_and_gives_up() -> None:
    class Boom(Exception):
        pass

    def fail() -> None:
        raise Boom("in thread")

    def main() -> None:
        bg = context.background()
        assert gort.offload_ctx(bg, lambda a, b=0: a + b, 1, b=2) == 3
        with pytest.raises(Boom, match="in thread"):
            gort.offload_ctx(bg, fail)
        # Deadline first: the goroutine stops waiting, the call runs on.
        ctx, cancel = context.with_timeout(bg, 0.02)
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            gort.offload_ctx(ctx, time.sleep, 5)
        assert time.monotonic() - t0 < 4
        cancel()
        # Cancelled from another goroutine, with a cause chained.
        ctx2, cancel2 = context.with_cancel_cause(bg)
        gort.go(lambda: (gort.sleep(0.01), cancel2(Boom("stop"))))
        with pytest.raises(Canceled) as ei:
            gort.offload_ctx(ctx2, time.sleep, 5)
        assert isinstance(ei.value.__cause__, Boom)
        # Already done: fn is not called.
        called = []
        with pytest.raises(Canceled):
            gort.offload_ctx(ctx2, called.append, 1)
        assert called == []
        # The call finished first: its value, and a later cancel does nothing to us.
        ctx3, cancel3 = context.with_cancel(bg)
        assert gort.offload_ctx(ctx3, lambda: 7) == 7
        cancel3()
        gort.sleep(0.005)
        with pytest.raises(TypeError, match="first argument is a context"):
            gort.offload_ctx(time.sleep, 1)  # type: ignore[arg-type]

    run(main)
