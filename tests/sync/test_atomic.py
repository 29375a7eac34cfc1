"""gort.sync.atomic (logic ported from Go's sync/atomic/atomic_test.go and value_test.go)."""

from __future__ import annotations

import threading
import timeit

import pytest

import gort
from gort.sync import atomic
from gort.sync.atomic import Bool, Int32, Int64, Pointer, Uint32, Uint64, Value

INTS = [(Int32, 32, True), (Int64, 64, True), (Uint32, 32, False), (Uint64, 64, False)]


@pytest.mark.parametrize(("cls", "bits", "signed"), INTS)
def test_add_wraps_as_go(cls: type[Int64], bits: int, signed: bool) -> None:
    """Go: TestAddInt32 ... TestAddUint64: a counter stepping by a large delta, wrapping."""
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    x = cls(hi)
    assert x.add(1) == lo and x.load() == lo
    assert x.add(-1) == hi
    delta = 1 << (bits - 3)
    x.store(0)
    want = 0
    for _ in range(20):
        want = (want + delta) & ((1 << bits) - 1)
        if signed and want >> (bits - 1):
            want -= 1 << bits
        assert x.add(delta) == want
    if not signed:
        x.store(0)
        assert x.add(-1) == hi, "Go's Add(^uint(0)) subtracts one"
    with pytest.raises(OverflowError, match="does not fit"):
        x.store(hi + 1)
    with pytest.raises(OverflowError, match="does not fit"):
        cls(lo - 1)
    with pytest.raises(TypeError, match="takes an int"):
        x.store(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes an int"):
        x.add(True)


@pytest.mark.parametrize(("cls", "bits", "signed"), INTS)
def test_swap_cas_and_or(cls: type[Int64], bits: int, signed: bool) -> None:
    """Go: TestSwap*, TestCompareAndSwap*, TestAnd*, TestOr* (Go 1.23: old value returned)."""
    x = cls(0)
    assert x.swap(5) == 0 and x.load() == 5
    assert x.compare_and_swap(5, 6) is True and x.load() == 6
    assert x.compare_and_swap(5, 7) is False and x.load() == 6
    x.store(0b1100)
    assert x.and_(0b1010) == 0b1100 and x.load() == 0b1000
    assert x.or_(0b0011) == 0b1000 and x.load() == 0b1011
    if signed:
        x.store(-1)
        assert x.and_(-1 << 4) == -1 and x.load() == -16


def test_bool() -> None:
    b = Bool()
    assert b.load() is False
    assert b.swap(True) is False and b.load() is True
    assert b.compare_and_swap(True, False) is True and b.load() is False
    assert b.compare_and_swap(True, False) is False
    with pytest.raises(TypeError, match="takes a bool"):
        b.store(1)  # type: ignore[arg-type]


def test_pointer_compares_by_identity() -> None:
    a, b = [1], [1]
    p: Pointer[list[int]] = Pointer()
    assert p.load() is None
    assert p.compare_and_swap(None, a) and p.load() is a
    assert not p.compare_and_swap(b, b), "equal but not the same object"
    assert p.swap(b) is a and p.load() is b


def test_value() -> None:
    """Go: TestValue, TestValuePanic, TestValue_Swap, TestValue_CompareAndSwap."""
    v = Value()
    assert v.load() is None
    v.store(42)
    assert v.load() == 42
    with pytest.raises(TypeError, match="inconsistently typed value"):
        v.store("x")
    with pytest.raises(TypeError, match="nil value"):
        v.store(None)
    assert v.swap(43) == 42
    assert v.compare_and_swap(43, 44) and v.load() == 44
    assert not v.compare_and_swap(43, 45)
    with pytest.raises(TypeError, match="inconsistently typed values"):
        v.compare_and_swap("a", 1)
    w = Value()
    assert not w.compare_and_swap(1, 2), "old matches only the stored value"
    assert w.compare_and_swap(None, 2) and w.load() == 2


def test_counters_under_goroutines_threads_and_preemption() -> None:
    """Go: TestStoreLoadSeqCst-style hammer: goroutines (preempted) and threads adding at once."""
    n32 = Int32()
    n64 = Uint64()
    per = 20_000

    def hammer() -> None:
        for _ in range(per):
            n32.add(1)
            n64.add(1)

    def main() -> None:
        wg = gort.sync.WaitGroup()
        for _ in range(3):
            wg.go(hammer)
        wg.go(gort.offload, hammer)  # a worker thread too
        wg.wait()

    t = threading.Thread(target=hammer)
    t.start()
    gort.run(main)
    t.join()
    assert n32.load() == n64.load() == 5 * per


def test_cost_vs_plain_increment() -> None:
    """A regression guard on the documented cost (module docstring): an add stays within
    100x a plain attribute += (measured 5-12x, 20-60x on a heavily loaded machine)."""
    class Box:
        v = 0

    box = Box()
    x = atomic.Int64()
    n = 20_000
    plain = min(timeit.repeat("box.v += 1", globals={"box": box}, number=n, repeat=5)) / n
    add = min(timeit.repeat("x.add(1)", globals={"x": x}, number=n, repeat=5)) / n
    assert add < plain * 100 + 1e-6, (add, plain)
