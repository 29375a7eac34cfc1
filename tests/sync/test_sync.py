"""gort.sync: Mutex, RWMutex, WaitGroup, Once, Cond (Go: sync/*_test.go)."""

from __future__ import annotations

import pytest

import gort
from gort.sync import Cond, Mutex, Once, RWMutex, WaitGroup

from ..conftest import settle


def test_mutex_excludes_and_hands_off_fifo() -> None:
    def main() -> list[int]:
        mu = Mutex()
        order: list[int] = []
        mu.lock()
        for i in range(5):
            gort.go(lambda i=i: (mu.lock(), order.append(i), mu.unlock()))
            settle()  # each blocks in turn: 0, 1, 2, 3, 4
        mu.unlock()
        settle()
        return order

    assert gort.run(main) == [0, 1, 2, 3, 4]


def test_mutex_unlocker_cannot_barge_past_waiters() -> None:
    def main() -> list[str]:
        mu = Mutex()
        log: list[str] = []
        mu.lock()
        gort.go(lambda: (mu.lock(), log.append("waiter"), mu.unlock()))
        settle()
        mu.unlock()
        assert not mu.try_lock(), "the lock was handed to the waiter"
        with mu:
            log.append("main")
        return log

    assert gort.run(main) == ["waiter", "main"]


def test_mutex_counter_under_contention() -> None:
    def main() -> int:
        mu = Mutex()
        wg = WaitGroup()
        n = [0]

        def inc() -> None:
            for _ in range(100):
                with mu:
                    v = n[0]
                    gort.gosched()  # would lose updates without the lock
                    n[0] = v + 1
            wg.done()

        for _ in range(10):
            wg.add(1)
            gort.go(inc)
        wg.wait()
        return n[0]

    assert gort.run(main) == 1000


def test_unlock_of_unlocked_mutex_raises_and_leaves_it_usable() -> None:
    def main() -> None:
        mu = Mutex()
        with pytest.raises(RuntimeError, match="unlock of unlocked mutex"):
            mu.unlock()
        mu.lock()
        assert mu.locked()
        mu.unlock()

    gort.run(main)


def test_rwmutex_readers_share_and_writer_excludes() -> None:
    def main() -> list[str]:
        rw = RWMutex()
        log: list[str] = []
        rw.rlock()
        rw.rlock()  # two readers at once
        gort.go(lambda: (rw.lock(), log.append("writer"), rw.unlock()))
        settle()
        assert log == []
        rw.runlock()
        settle()
        assert log == []
        rw.runlock()
        settle()
        return log

    assert gort.run(main) == ["writer"]


def test_rwmutex_waiting_writer_is_not_starved_by_new_readers() -> None:
    def main() -> list[str]:
        rw = RWMutex()
        log: list[str] = []
        rw.rlock()
        gort.go(lambda: (rw.lock(), log.append("W"), rw.unlock()))
        settle()
        gort.go(lambda: (rw.rlock(), log.append("R2"), rw.runlock()))  # arrives after W
        settle()
        assert log == [], "a reader went in ahead of the waiting writer"
        rw.runlock()
        settle()
        return log

    assert gort.run(main) == ["W", "R2"]


def test_rwmutex_misuse_raises() -> None:
    def main() -> None:
        rw = RWMutex()
        with pytest.raises(RuntimeError, match="RUnlock of unlocked RWMutex"):
            rw.runlock()
        with pytest.raises(RuntimeError, match="Unlock of unlocked RWMutex"):
            rw.unlock()

    gort.run(main)


def test_waitgroup_waits_for_all_and_rejects_negative() -> None:
    def main() -> int:
        wg = WaitGroup()
        done = [0]
        for _ in range(20):
            wg.add(1)
            gort.go(lambda: (gort.sleep(0.001), done.__setitem__(0, done[0] + 1), wg.done()))
        wg.wait()
        wg.wait()  # zero counter: returns at once
        with pytest.raises(ValueError, match="negative WaitGroup counter"):
            wg.done()
        wg.add(1)
        wg.done()  # still usable
        return done[0]

    assert gort.run(main) == 20


def test_once_runs_once_and_blocks_concurrent_callers() -> None:
    def main() -> tuple[list[str], int]:
        once = Once()
        log: list[str] = []
        wg = WaitGroup()

        def init() -> None:
            log.append("init start")
            gort.sleep(0.01)
            log.append("init end")

        def caller(i: int) -> None:
            once.do(init)
            log.append(f"caller {i}")
            wg.done()

        for i in range(3):
            wg.add(1)
            gort.go(caller, i)
        wg.wait()
        return log, len(log)

    log, n = gort.run(main)
    assert log[:2] == ["init start", "init end"] and n == 5


def test_once_with_raising_fn_counts_as_done() -> None:
    def main() -> list[str]:
        once = Once()
        calls: list[str] = []

        def bad() -> None:
            calls.append("bad")
            raise ValueError("init failed")

        with pytest.raises(ValueError, match="init failed"):
            once.do(bad)
        once.do(lambda: calls.append("second"))
        return calls

    assert gort.run(main) == ["bad"]


def test_cond_signal_and_broadcast() -> None:
    def main() -> list[str]:
        mu = Mutex()
        cond = Cond(mu)
        ready = [0]
        log: list[str] = []

        def waiter(i: int) -> None:
            with mu:
                while ready[0] <= i:
                    cond.wait()
                log.append(f"w{i}")

        for i in range(3):
            gort.go(waiter, i)
            settle()  # they start waiting in order 0, 1, 2
        with mu:
            ready[0] = 1
            cond.signal()
        settle()
        with mu:
            ready[0] = 10
            cond.broadcast()
        settle()
        return log

    log = gort.run(main)
    assert log[0] == "w0" and sorted(log) == ["w0", "w1", "w2"]


def test_cond_requires_a_gort_lock() -> None:
    with pytest.raises(TypeError, match=r"Cond needs a gort\.sync\.Mutex"):
        Cond(object())  # type: ignore[arg-type]
