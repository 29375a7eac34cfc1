"""gort.sync additions: WaitGroup.go, Once.do args, once_func/value/values, RWMutex as a
context manager, rlocker, try_lock, Map, Pool (Go: sync/*_test.go, oncefunc_test.go)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import gort
from gort.sync import Map, Mutex, Once, Pool, RWMutex, WaitGroup, once_func, once_value, once_values

from ..conftest import settle


def test_waitgroup_go() -> None:
    """Go 1.25: TestWaitGroupGo."""
    def main() -> list[int]:
        wg = WaitGroup()
        got: list[int] = []
        for i in range(5):
            wg.go(lambda i, k=0: (gort.sleep(0.001 * i), got.append(i + k)), i, k=10)
        wg.wait()
        with pytest.raises(TypeError, match="not callable"):
            wg.go(None)  # type: ignore[arg-type]
        return sorted(got)

    assert gort.run(main) == [10, 11, 12, 13, 14]


def test_waitgroup_go_calls_done_when_fn_raises() -> None:
    def main() -> None:
        wg = WaitGroup()

        def boom() -> None:
            raise ValueError("boom")

        wg.go(boom)
        wg.wait()

    with pytest.raises(ValueError, match="boom"):
        gort.run(main)


def test_once_do_with_args_runs_once_and_waits() -> None:
    def main() -> list[object]:
        once = Once()
        log: list[object] = []

        def setup(a: int, b: int = 0) -> None:
            gort.sleep(0.005)  # the other callers wait for it
            log.append(a + b)

        wg = WaitGroup()
        for i in range(5):
            wg.go(lambda i=i: (once.do(setup, i, b=100), log.append("after")))
        wg.wait()
        return log

    log = gort.run(main)
    assert log[0] in range(100, 105) and log[1:] == ["after"] * 5


def test_once_func_and_values() -> None:
    """Go: TestOnceFunc, TestOnceValue, TestOnceValues."""
    def main() -> None:
        calls = [0]

        def f() -> int:
            calls[0] += 1
            return 42

        g = once_func(f)
        for _ in range(3):
            assert g() is None
        assert calls[0] == 1
        v = once_value(f)
        assert [v() for _ in range(3)] == [42, 42, 42] and calls[0] == 2
        vs = once_values(lambda: (1, "two"))
        a, b = vs()
        assert (a, b) == (1, "two") and vs() == (1, "two")
        # Concurrent first calls: one runs, the others wait for it.
        slow_calls = [0]

        def slow() -> str:
            slow_calls[0] += 1
            gort.sleep(0.005)
            return "done"

        sv = once_value(slow)
        wg = WaitGroup()
        got: list[str] = []
        for _ in range(4):
            wg.go(lambda: got.append(sv()))
        wg.wait()
        assert got == ["done"] * 4 and slow_calls[0] == 1
        with pytest.raises(TypeError, match="not callable"):
            once_value(3)  # type: ignore[arg-type]

    gort.run(main)


@pytest.mark.parametrize("wrap", [once_func, once_value, once_values])
def test_once_funcs_reraise_every_time(wrap: object) -> None:
    """Go: TestOnceFuncPanic (re-panics with the same value on every call)."""
    def main() -> None:
        calls = [0]

        class Boom(Exception):
            pass

        def f() -> tuple[int, int]:
            calls[0] += 1
            raise Boom("x")

        g = wrap(f)  # type: ignore[operator]
        caught = []
        for _ in range(3):
            with pytest.raises(Boom) as ei:
                g()
            caught.append(ei.value)
        assert calls[0] == 1
        assert caught[0] is caught[1] is caught[2]
        depth = 0
        tb = caught[2].__traceback__
        while tb is not None:
            depth += 1
            tb = tb.tb_next
        assert depth < 12, "the traceback grew with every call"

    gort.run(main)


def test_once_func_drops_f_after_the_call() -> None:
    def main() -> None:
        v = once_value(lambda: 1)
        v()
        assert v._f is None  # type: ignore[attr-defined]

    gort.run(main)


def test_rwmutex_context_managers_rlocker_and_try() -> None:
    def main() -> list[str]:
        rw = RWMutex()
        log: list[str] = []
        with rw:
            assert not rw.try_rlock() and not rw.try_lock()
            gort.go(lambda: (rw.rlocker().lock(), log.append("reader"), rw.runlock()))
            settle()
            assert log == []
        settle()
        assert log == ["reader"]
        rl = rw.rlocker()
        with rl, rw.rlocker():
            assert rw.try_rlock()
            rw.runlock()
            assert not rw.try_lock()
        assert rw.try_lock()
        rw.unlock()
        with pytest.raises(RuntimeError, match="runlock"):
            rl.unlock()
        return log

    assert gort.run(main) == ["reader"]


def test_mutex_try_lock() -> None:
    def main() -> None:
        mu = Mutex()
        assert mu.try_lock() and not mu.try_lock()
        mu.unlock()
        assert mu.try_lock()
        mu.unlock()

    gort.run(main)


def test_map_operations() -> None:
    """Go: sync/map_test.go's mapInterface calls, each checked against its expected result."""
    m = Map()
    assert m.load("a") == (None, False)
    m.store("a", 1)
    assert m.load("a") == (1, True)
    assert m.load_or_store("a", 2) == (1, True)
    assert m.load_or_store("b", 2) == (2, False)
    assert m.swap("a", 10) == (1, True)
    assert m.swap("c", 3) == (None, False)
    assert m.compare_and_swap("a", 10, 11) is True
    assert m.compare_and_swap("a", 10, 12) is False
    assert m.compare_and_swap("zz", None, 1) is False  # absent key never matches
    assert m.compare_and_delete("b", 99) is False
    assert m.compare_and_delete("b", 2) is True
    assert m.load_and_delete("c") == (3, True)
    assert m.load_and_delete("c") == (None, False)
    m.delete("nothing")
    m.store("d", 4)
    seen: list[tuple[object, object]] = []
    m.range(lambda k, v: seen.append((k, v)))
    assert sorted(seen) == [("a", 11), ("d", 4)]
    first: list[object] = []
    m.range(lambda k, v: first.append(k) or False)
    assert len(first) == 1, "range stops when f returns False"
    # f may modify the map while ranging (a snapshot is ranged).
    m.range(lambda k, v: m.store(k + "!", v))  # type: ignore[operator]
    assert sorted(k for k, _ in m.items()) == ["a", "a!", "d", "d!"]
    m.clear()
    assert list(m.items()) == []
    with pytest.raises(TypeError, match="not callable"):
        m.range(None)  # type: ignore[arg-type]


def test_map_from_threads() -> None:
    m = Map()

    def work(t: int) -> None:
        for i in range(2000):
            m.store((t, i), i)
            v, ok = m.load_or_store("shared", t)
            assert ok or v == t

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sum(1 for _ in m.items()) == 4 * 2000 + 1


def test_pool() -> None:
    """Go: TestPool, TestPoolNew."""
    p = Pool()
    assert p.get() is None
    p.put("a")
    p.put("b")
    p.put(None)  # ignored
    assert {p.get(), p.get()} == {"a", "b"}
    assert p.get() is None
    n = [0]

    def new() -> int:
        n[0] += 1
        return n[0]

    p2 = Pool(new=new)
    assert p2.get() == 1 and p2.get() == 2
    p2.put(42)
    assert p2.get() == 42 and p2.get() == 3
    p2.new = None
    assert p2.get() is None
    for i in range(5000):
        p2.put(i)
    assert len(p2._items) == 1024  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="function of no arguments"):
        Pool(new=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["once", "once_value", "map_range", "pool_new", "wg_go"])
def test_user_code_called_by_gort_sync_stays_preemptible(how: str) -> None:
    """A spinning fn under Once.do, once_value, Map.range, Pool.new or WaitGroup.go is
    preempted (the gort frames below it are user-code boundaries, runtime/preempt.py)."""
    def main() -> int:
        stop = [False]

        def spin(*_: object) -> int:
            while not stop[0]:
                pass
            return 1

        wg = WaitGroup()
        if how == "once":
            wg.go(Once().do, spin)
        elif how == "once_value":
            wg.go(once_value(spin))
        elif how == "map_range":
            m = Map()
            m.store(1, 1)
            wg.go(m.range, spin)
        elif how == "pool_new":
            wg.go(Pool(new=spin).get)
        else:
            wg.go(spin)
        gort.sleep(0.02)  # returns only if spin is preempted
        stop[0] = True
        wg.wait()
        return gort.stats()["preempt_async"]

    assert gort.run(main) >= 1


@pytest.mark.parametrize("how", ["store", "delete", "clear", "pointer", "value"])
def test_a_finalizer_that_uses_the_same_object_never_deadlocks(how: str) -> None:
    """The replaced value's last reference is dropped after the internal lock is released."""
    from gort.sync import atomic

    m = Map()
    p: atomic.Pointer[Any] = atomic.Pointer()
    v = atomic.Value()
    ran: list[str] = []

    class Entry:
        def __del__(self) -> None:
            m.delete("side")  # takes the Map's lock
            p.load()
            v.load()
            ran.append(how)

    m.store("side", 1)
    if how in ("store", "delete", "clear"):
        m.store("k", Entry())
        {"store": lambda: m.store("k", 2), "delete": lambda: m.delete("k"),
         "clear": m.clear}[how]()
    elif how == "pointer":
        p.store(Entry())
        p.store(None)
    else:
        v.store(Entry())
        v.store(Entry())
    assert how in ran


def test_cond_wait_interrupted_while_relocking_raises_with_the_lock_held() -> None:
    # issue 9 adversarial pass: an exception thrown into a Cond waiter while it waited to
    # lock L again made wait() raise without L held; the caller's `with cond.L:` then hit
    # "sync: unlock of unlocked mutex", and the first exception was lost.
    import gort.runtime as rt

    class Boom(Exception):
        pass

    def main() -> list[str]:
        mu = Mutex()
        cond = gort.sync.Cond(mu)
        log: list[str] = []
        me: list[rt.G] = []

        def waiter() -> None:
            me.append(rt.getg())
            try:
                with mu:
                    cond.wait()
            except Boom:
                log.append(f"boom, held after: {mu.try_lock()}")
                mu.unlock()

        gort.go(waiter)
        settle()
        mu.lock()
        cond.broadcast()  # the waiter wakes and parks again on mu, which main holds
        settle()
        gp = me[0]
        assert gp.status is rt.Gstatus.WAITING and gp.waitreason is rt.WaitReason.SYNC_MUTEX_LOCK
        rt.goraise(gp, Boom())
        settle()
        log.append("main unlocks")
        mu.unlock()  # now the waiter gets mu, raises Boom with mu held, and its with unlocks
        settle()
        return log

    assert gort.run(main) == ["main unlocks", "boom, held after: True"]
