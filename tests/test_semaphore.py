"""gort.semaphore (logic ported from golang.org/x/sync/semaphore/semaphore_test.go)."""

from __future__ import annotations

import random

import pytest

import gort
import gort.runtime as rt
from gort import context, errgroup
from gort.context import Canceled, DeadlineExceeded
from gort.semaphore import Weighted

from .conftest import settle

BG = context.background


def test_weighted_stress_never_exceeds_size() -> None:
    """Go: TestWeighted: n goroutines acquire random weights in a loop."""
    def main() -> int:
        rng = random.Random(7)
        n, size = 16, 8
        sem = Weighted(size)
        held = [0]
        peak = [0]
        wg = gort.sync.WaitGroup()

        def worker(seed: int) -> None:
            r = random.Random(seed)
            for _ in range(100):
                k = r.randint(1, size)
                sem.acquire(BG(), k)
                held[0] += k
                peak[0] = max(peak[0], held[0])
                assert held[0] <= size
                if r.random() < 0.5:
                    gort.gosched()
                held[0] -= k
                sem.release(k)

        for _ in range(n):
            wg.go(worker, rng.randrange(1 << 30))
        wg.wait()
        assert sem._cur == 0 and not sem._waiters
        return peak[0]

    assert gort.run(main) <= 8


def test_release_more_than_held_raises() -> None:
    """Go: TestWeightedPanic."""
    def main() -> None:
        w = Weighted(1)
        with pytest.raises(RuntimeError, match="released more than held"):
            w.release(1)
        w.acquire(BG(), 1)
        with pytest.raises(RuntimeError, match=r"release\(2\) with 1 held"):
            w.release(2)
        w.release(1)

    gort.run(main)


def test_try_acquire() -> None:
    """Go: TestWeightedTryAcquire."""
    def main() -> list[bool]:
        sem = Weighted(2)
        tries: list[bool] = []
        sem.acquire(BG(), 1)
        tries.append(sem.try_acquire(1))
        tries.append(sem.try_acquire(1))
        sem.release(2)
        tries.append(sem.try_acquire(1))
        sem.acquire(BG(), 1)
        tries.append(sem.try_acquire(1))
        return tries

    assert gort.run(main) == [True, False, True, False]


def test_acquire_cancelled_and_already_done() -> None:
    """Go: TestWeightedAcquire."""
    def main() -> list[bool]:
        ctx, cancel = context.with_cancel(BG())
        sem = Weighted(2)
        tries: list[bool] = []

        def try_acquire(n: int) -> bool:
            c, stop = context.with_timeout(ctx, 0.01)
            try:
                sem.acquire(c, n)
                return True
            except DeadlineExceeded:
                return False
            finally:
                stop()

        sem.acquire(ctx, 1)
        tries.append(try_acquire(1))
        tries.append(try_acquire(1))
        sem.release(2)
        tries.append(try_acquire(1))
        sem.acquire(ctx, 1)
        tries.append(try_acquire(1))
        cancel()
        with pytest.raises(Canceled):
            sem.acquire(ctx, 0)  # a done context wins even when tokens are free
        return tries

    assert gort.run(main) == [True, False, True, False]


def test_does_not_block_if_too_big_until_ctx_done() -> None:
    """Go: TestWeightedDoesntBlockIfTooBig: a request above the size waits only for ctx."""
    def main() -> None:
        n = 2
        sem = Weighted(n)
        ctx, cancel = context.with_cancel(BG())
        g = errgroup.Group()
        for _ in range(n * 3):
            def big() -> None:
                with pytest.raises(Canceled):
                    sem.acquire(ctx, n + 1)
            g.go(big)
        settle()
        assert not sem._waiters, "a request above the size must not queue"
        assert sem.try_acquire(n), "too-big requests must not block others"
        cancel()
        g.wait()
        sem.release(n)

    gort.run(main)


def test_large_acquire_does_not_starve() -> None:
    """Go: TestLargeAcquireDoesntStarve: small acquires queue behind a waiting large one."""
    def main() -> list[str]:
        n = 4
        sem = Weighted(n)
        log: list[str] = []
        sem.acquire(BG(), 1)  # one token held: the large request cannot go in
        stop = [False]

        def small(i: int) -> None:
            while not stop[0]:
                sem.acquire(BG(), 1)
                gort.gosched()
                sem.release(1)

        for i in range(n - 1):
            gort.go(small, i)
        for _ in range(10):
            gort.gosched()  # the small ones cycle through the free tokens

        def large() -> None:
            sem.acquire(BG(), n)
            log.append("large")
            stop[0] = True
            sem.release(n)

        gort.go(large)
        sem.release(1)  # the small ones must not starve the waiting large request
        for _ in range(1000):
            if log:
                break
            gort.gosched()
        stop[0] = True
        return log

    assert gort.run(main) == ["large"]


def test_cancelled_head_wakes_waiters_behind_it() -> None:
    """Go: TestAllocCancelDoesntStarve: a cancelled large head lets a small one in."""
    def main() -> list[str]:
        sem = Weighted(10)
        sem.acquire(BG(), 1)  # 9 free
        ctx, cancel = context.with_cancel(BG())
        log: list[str] = []

        def big() -> None:
            try:
                sem.acquire(ctx, 10)
            except Canceled:
                log.append("big cancelled")

        def small() -> None:
            sem.acquire(BG(), 1)
            log.append("small")

        gort.go(big)
        settle()
        gort.go(small)
        settle()
        assert log == [] and len(sem._waiters) == 2
        cancel()
        settle()
        assert not sem._waiters and sem._cur == 2
        sem.release(2)
        return log

    assert gort.run(main) == ["big cancelled", "small"]


def test_fifo_order() -> None:
    def main() -> list[int]:
        sem = Weighted(1)
        sem.acquire(BG())
        order: list[int] = []
        for i in range(5):
            gort.go(lambda i=i: (sem.acquire(BG()), order.append(i), sem.release()))
            settle()
        sem.release()
        settle()
        return order

    assert gort.run(main) == [0, 1, 2, 3, 4]


def test_goraise_while_waiting_leaves_queue_consistent() -> None:
    class Boom(Exception):
        pass

    def main() -> None:
        sem = Weighted(2)
        sem.acquire(BG(), 2)
        me: list[rt.G] = []
        log: list[str] = []

        def victim() -> None:
            me.append(rt.getg())
            try:
                sem.acquire(BG(), 2)
            except Boom:
                log.append("boom")

        gort.go(victim)
        settle()
        gort.go(lambda: (sem.acquire(BG(), 1), log.append("next"), sem.release(1)))
        settle()
        assert len(sem._waiters) == 2
        rt.goraise(me[0], Boom())
        settle()
        assert log == ["boom"] and len(sem._waiters) == 1
        sem.release(2)
        settle()
        assert log == ["boom", "next"] and sem._cur == 0

    gort.run(main)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_weights(bad: object) -> None:
    def main() -> None:
        sem = Weighted(3)
        exc = ValueError if bad == -1 else TypeError
        with pytest.raises(exc, match="weight"):
            sem.acquire(BG(), bad)  # type: ignore[arg-type]
        with pytest.raises(exc, match="weight"):
            sem.try_acquire(bad)  # type: ignore[arg-type]
        with pytest.raises(exc, match="weight"):
            sem.release(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="negative"):
            Weighted(-1)
        with pytest.raises(TypeError, match="context"):
            sem.acquire(1)  # type: ignore[arg-type]

    gort.run(main)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stress_with_cancellations_keeps_the_books(seed: int) -> None:
    """Seeded: random weights, random timeouts and cancels; the tokens always add up."""
    def main() -> tuple[int, int]:
        rng = random.Random(seed)
        size = 10
        sem = Weighted(size)
        held = [0]
        counts = [0, 0]  # granted, gave up
        wg = gort.sync.WaitGroup()

        def worker(r: random.Random) -> None:
            for _ in range(30):
                k = r.randint(0, size)
                ctx, cancel = context.with_timeout(BG(), r.choice([0.0005, 0.002, 3600]))
                if r.random() < 0.2:
                    gort.go(cancel)
                try:
                    sem.acquire(ctx, k)
                except (Canceled, DeadlineExceeded):
                    counts[1] += 1
                    assert sem._cur <= size
                    continue
                finally:
                    cancel()
                counts[0] += 1
                held[0] += k
                assert held[0] <= size and sem._cur <= size
                if r.random() < 0.5:
                    gort.sleep(0.0003)
                held[0] -= k
                sem.release(k)

        for _ in range(12):
            wg.go(worker, random.Random(rng.randrange(1 << 30)))
        wg.wait()
        assert sem._cur == 0 and not sem._waiters, (sem._cur, len(sem._waiters))
        return counts[0], counts[1]

    granted, gave_up = gort.run(main)
    assert granted + gave_up == 12 * 30 and granted > 0 and gave_up > 0, (granted, gave_up)
