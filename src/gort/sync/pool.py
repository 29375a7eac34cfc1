"""sync.Pool (Go: sync/pool.go): a free list of reusable objects.

Go's Pool is per-P and is emptied by the garbage collector, so it never pins
memory. Here it is a list behind a raw ``_thread`` lock (safe from goroutines,
worker threads and free-threaded builds) bounded at ``MAX_IDLE`` objects:
Python's collector cannot empty it, so a ``put`` beyond the bound drops the
object instead, as Go's GC would eventually. ``get`` takes the most recently
put object (LIFO: the one likeliest to be warm in the cache). Callers must
not assume anything about which object they get, or that a put object is
kept, as in Go.
"""

from __future__ import annotations

from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable
from typing import Any, Final

from .. import runtime as _rt

MAX_IDLE: Final = 1024
_EMPTY: Final = object()


class Pool:
    """A set of temporary objects to reuse (Go: sync.Pool).

    ``Pool(new=None)``: ``new`` (also an attribute, as Go's field) makes an
    object when the pool is empty; without it ``get`` returns None then.
    """

    __slots__ = ("_items", "_lk", "new")

    def __init__(self, new: Callable[[], Any] | None = None) -> None:
        if new is not None and not callable(new):
            raise TypeError(f"sync: Pool(new=...) takes a function of no arguments or "
                            f"None, got {new!r}")
        self.new = new
        self._items: list[Any] = []
        self._lk = _allocate_lock()

    @_rt.user_code_boundary
    def get(self) -> Any:
        """Take an object from the pool; if empty, ``new()`` (or None without new)."""
        x = self._take()  # the lock is held in _take's frame only, never across new()
        if x is not _EMPTY:
            return x
        new = self.new
        return new() if new is not None else None

    def _take(self) -> Any:
        with self._lk:
            return self._items.pop() if self._items else _EMPTY

    def put(self, x: Any) -> None:
        """Add x to the pool (None is ignored, as Go ignores nil); may drop it when full."""
        if x is None:
            return
        with self._lk:
            if len(self._items) < MAX_IDLE:
                self._items.append(x)
