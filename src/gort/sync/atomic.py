"""Atomic values (Go: sync/atomic's types Int32, Int64, Uint32, Uint64, Bool, Pointer, Value).

When you need them. A goroutine can be preempted asynchronously between any
two bytecodes of your code (that is what stops a spinning goroutine from
starving the others), and ``counter += 1`` on a shared name, attribute or
item is a load, an add and a store: two goroutines can both load 5 and both
store 6. The same holds between threads (offloaded calls), on GIL builds and,
more often, on free-threaded ones. Use these types, a ``gort.sync.Mutex``, or
a channel for state shared that way; a variable only one goroutine touches
needs nothing.

Each object holds a raw ``_thread`` lock (captured at import, so it stays a
plain OS lock even if ``threading.Lock`` is made goroutine-aware), taken for
the few bytecodes of each operation. That makes every method atomic against
preemption (gort's own code is never preempted asynchronously, and the lock
covers the rest), against threads, and on free-threaded builds. A goroutine
never waits on it for longer than another thread's single operation.

Integers behave as Go's fixed-width ones: ``add`` wraps around modulo 2**32
or 2**64 (a negative delta subtracts, also on the unsigned types, where Go
writes ``Add(^uint32(0))``); ``store`` and the arguments of ``swap`` and
``compare_and_swap`` must fit the type (OverflowError otherwise: Go would
not compile a constant that does not fit).

Cost (``timeit`` of one call, the minimum of 7 runs of 200 000, on this
project's shared 2-core x86-64 machine, load average 3-4):

    ===================  =========  =========
    operation            3.11       3.13
    ===================  =========  =========
    ``x += 1`` (local)   12 ns      13 ns
    ``o.x += 1``         17 ns      31 ns
    ``Int64.add(1)``     202 ns     145 ns
    ``Int64.load()``     128 ns     83 ns
    ``compare_and_swap`` 367 ns     381 ns
    ``with lock: pass``  145 ns     113 ns
    ===================  =========  =========

so an atomic add costs 5-12x an attribute increment, most of it the raw lock
(slow on this machine: 40-60 ns is usual elsewhere); under heavy load (load
average 13) every figure doubled to quadrupled. Use them for state that is
really shared, not for a goroutine's own counters.
tests/sync/test_atomic.py::test_cost_vs_plain_increment guards the ratio.
"""

from __future__ import annotations

from _thread import allocate_lock as _allocate_lock
from typing import Any, Generic, TypeVar

__all__ = ["Bool", "Int32", "Int64", "Pointer", "Uint32", "Uint64", "Value"]

T = TypeVar("T")


class _Int:
    """A fixed-width integer with atomic operations."""

    __slots__ = ("_lk", "_v")
    _bits = 64
    _signed = True
    _name = "Int64"

    def __init__(self, v: int = 0) -> None:
        self._lk = _allocate_lock()
        self._v = self._check(v)

    @classmethod
    def _check(cls, v: object) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"atomic.{cls._name}: takes an int, got {v!r}")
        lo, hi = (-(1 << (cls._bits - 1)), (1 << (cls._bits - 1)) - 1) if cls._signed \
            else (0, (1 << cls._bits) - 1)
        if not lo <= v <= hi:
            raise OverflowError(f"atomic.{cls._name}: {v} does not fit in [{lo}, {hi}]; "
                                "use a wider type (Int64, Uint64)")
        return v

    @classmethod
    def _wrap(cls, v: int) -> int:
        mask = (1 << cls._bits) - 1
        v &= mask
        if cls._signed and v >> (cls._bits - 1):
            v -= 1 << cls._bits
        return v

    def load(self) -> int:
        """The current value (Go: Load)."""
        with self._lk:
            return self._v

    def store(self, v: int) -> None:
        """Set the value (Go: Store). OverflowError if v does not fit."""
        v = self._check(v)
        with self._lk:
            self._v = v

    def swap(self, new: int) -> int:
        """Set the value to new and return the old one (Go: Swap)."""
        new = self._check(new)
        with self._lk:
            old = self._v
            self._v = new
            return old

    def compare_and_swap(self, old: int, new: int) -> bool:
        """If the value is old, set it to new; True if it did (Go: CompareAndSwap)."""
        new = self._check(new)
        with self._lk:
            if self._v == old:
                self._v = new
                return True
            return False

    def add(self, delta: int) -> int:
        """Add delta (wrapping around as Go's) and return the new value (Go: Add)."""
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"atomic.{self._name}.add: takes an int, got {delta!r}")
        with self._lk:
            v = self._v + delta
            if not self._lo <= v <= self._hi:
                v = self._wrap(v)
            self._v = v
            return v

    def and_(self, mask: int) -> int:
        """value &= mask; return the old value (Go 1.23: And)."""
        if isinstance(mask, bool) or not isinstance(mask, int):
            raise TypeError(f"atomic.{self._name}.and_: takes an int, got {mask!r}")
        with self._lk:
            old = self._v
            self._v = self._wrap(old & mask)
            return old

    def or_(self, mask: int) -> int:
        """value |= mask; return the old value (Go 1.23: Or)."""
        if isinstance(mask, bool) or not isinstance(mask, int):
            raise TypeError(f"atomic.{self._name}.or_: takes an int, got {mask!r}")
        with self._lk:
            old = self._v
            self._v = self._wrap(old | mask)
            return old

    def __repr__(self) -> str:
        return f"atomic.{self._name}({self.load()})"

    _lo = -(1 << 63)
    _hi = (1 << 63) - 1


class Int32(_Int):
    """An atomic int32 (Go: atomic.Int32); wraps around at 32 bits."""

    __slots__ = ()
    _bits = 32
    _name = "Int32"
    _lo = -(1 << 31)
    _hi = (1 << 31) - 1


class Int64(_Int):
    """An atomic int64 (Go: atomic.Int64); wraps around at 64 bits."""

    __slots__ = ()


class Uint32(_Int):
    """An atomic uint32 (Go: atomic.Uint32); wraps around modulo 2**32."""

    __slots__ = ()
    _bits = 32
    _signed = False
    _name = "Uint32"
    _lo = 0
    _hi = (1 << 32) - 1


class Uint64(_Int):
    """An atomic uint64 (Go: atomic.Uint64); wraps around modulo 2**64."""

    __slots__ = ()
    _signed = False
    _name = "Uint64"
    _lo = 0
    _hi = (1 << 64) - 1


class Bool:
    """An atomic bool (Go: atomic.Bool)."""

    __slots__ = ("_lk", "_v")

    def __init__(self, v: bool = False) -> None:
        self._lk = _allocate_lock()
        self._v = _bool(v)

    def load(self) -> bool:
        """The current value (Go: Load)."""
        with self._lk:
            return self._v

    def store(self, v: bool) -> None:
        """Set the value (Go: Store). TypeError for a non-bool."""
        v = _bool(v)
        with self._lk:
            self._v = v

    def swap(self, new: bool) -> bool:
        """Set to new; return the old value (Go: Swap)."""
        new = _bool(new)
        with self._lk:
            old = self._v
            self._v = new
            return old

    def compare_and_swap(self, old: bool, new: bool) -> bool:
        """If the value is old, set it to new; True if it did (Go: CompareAndSwap)."""
        new = _bool(new)
        with self._lk:
            if self._v is _bool(old):
                self._v = new
                return True
            return False

    def __repr__(self) -> str:
        return f"atomic.Bool({self.load()})"


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"atomic.Bool: takes a bool, got {v!r}")
    return v


class Pointer(Generic[T]):
    """An atomic reference to an object or None (Go: atomic.Pointer[T]).

    ``compare_and_swap`` compares by identity (``is``), as Go compares pointers.
    """

    __slots__ = ("_lk", "_v")

    def __init__(self, v: T | None = None) -> None:
        self._lk = _allocate_lock()
        self._v = v

    def load(self) -> T | None:
        """The current reference (Go: Load)."""
        with self._lk:
            return self._v

    def store(self, v: T | None) -> None:
        """Set the reference (Go: Store)."""
        with self._lk:
            old = self._v
            self._v = v
        del old  # after the lock: its __del__ may use this Pointer

    def swap(self, new: T | None) -> T | None:
        """Set to new; return the old reference (Go: Swap)."""
        with self._lk:
            old = self._v
            self._v = new
            return old

    def compare_and_swap(self, old: T | None, new: T | None) -> bool:
        """If the reference is old (``is``), set it to new; True if it did (Go: CompareAndSwap)."""
        with self._lk:
            if self._v is old:
                self._v = new  # the caller's old still references the replaced value
                return True
            return False

    def __repr__(self) -> str:
        return f"atomic.Pointer({self.load()!r})"


class Value:
    """An atomic value of one consistent type (Go: atomic.Value).

    ``load()`` is None until the first store. Every stored value must have
    the type of the first one, and None cannot be stored: both raise
    TypeError (Go panics). ``compare_and_swap`` compares by ``is`` or ``==``,
    as Go's ``==`` on interface values.
    """

    __slots__ = ("_lk", "_type", "_v")

    def __init__(self) -> None:
        self._lk = _allocate_lock()
        self._v: Any = None
        self._type: type | None = None

    def _check(self, v: Any, what: str) -> None:
        if v is None:
            raise TypeError(f"sync/atomic: {what} of nil value into Value; store an object, "
                            "or wrap optional values in a type of your own")
        if self._type is not None and type(v) is not self._type:
            raise TypeError(f"sync/atomic: {what} of inconsistently typed value into Value: "
                            f"holds {self._type.__qualname__}, got {type(v).__qualname__}; "
                            "every value stored in one Value must have the same type")

    def load(self) -> Any:
        """The last stored value, or None before the first store (Go: Load)."""
        with self._lk:
            return self._v

    def store(self, v: Any) -> None:
        """Set the value (Go: Store). TypeError for None or a value of another type."""
        with self._lk:
            self._check(v, "store")
            self._type = type(v)
            old = self._v
            self._v = v
        del old  # after the lock: its __del__ may use this Value

    def swap(self, new: Any) -> Any:
        """Set to new; return the old value, None before the first store (Go: Swap)."""
        with self._lk:
            self._check(new, "swap")
            self._type = type(new)
            old = self._v
            self._v = new
            return old

    def compare_and_swap(self, old: Any, new: Any) -> bool:
        """If the value matches old, set it to new; True if it did (Go: CompareAndSwap).

        TypeError if new is None, or old (when not None) or new is of another
        type than the stored values.
        """
        with self._lk:
            self._check(new, "compare and swap")
            if old is not None and type(old) is not type(new):
                raise TypeError("sync/atomic: compare and swap of inconsistently typed "
                                f"values: {type(old).__qualname__} and "
                                f"{type(new).__qualname__}")
            cur = self._v
            if cur is None:
                if old is not None:
                    return False
                self._type = type(new)
                self._v = new
                return True
            if cur is old or cur == old:
                self._v = new
                return True
            return False

    def __repr__(self) -> str:
        return f"atomic.Value({self.load()!r})"


for _cls in (Bool, Int32, Int64, Pointer, Uint32, Uint64, Value):
    _cls.__module__ = "gort.sync.atomic"
