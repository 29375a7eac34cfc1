"""sync.Map (Go: sync/map.go): a dict safe for concurrent use, with Go's methods.

Go's Map is two maps (a read-only one read without locking and a dirty one
under a mutex) because Go's goroutines run in parallel. Here it is one dict
behind a raw ``_thread`` lock (captured at import: a lock the runtime never
makes goroutine-aware), held only for the dict operation itself, never across
a call to user code, so it is safe from goroutines, from offloaded calls on
worker threads, and on free-threaded builds. ``range`` calls f on a snapshot
of the items taken under the lock, so f may store and delete (Go's Range
likewise does not see a consistent snapshot).

Values match (``compare_and_swap``, ``compare_and_delete``) when they are
the same object or ``==``, as Go's ``==`` on interface values.
"""

from __future__ import annotations

from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable, Iterator
from typing import Any

from .. import runtime as _rt


def _same(a: Any, b: Any) -> bool:
    return a is b or bool(a == b)


class Map:
    """A map for concurrent use (Go: sync.Map). Keys are hashable; ``len`` is not offered, as Go."""

    __slots__ = ("_d", "_lk")

    def __init__(self) -> None:
        self._d: dict[Any, Any] = {}
        self._lk = _allocate_lock()

    def load(self, key: Any) -> tuple[Any, bool]:
        """``(value, True)`` if key is present, else ``(None, False)`` (Go: Load)."""
        with self._lk:
            try:
                return self._d[key], True
            except KeyError:
                return None, False

    def store(self, key: Any, value: Any) -> None:
        """Set the value for key (Go: Store)."""
        with self._lk:
            old = self._d.get(key)
            self._d[key] = value
        del old  # after the lock: its __del__ may use this Map

    def load_or_store(self, key: Any, value: Any) -> tuple[Any, bool]:
        """The existing value and True if key is present; else store value, return it and False."""
        with self._lk:
            d = self._d
            if key in d:
                return d[key], True
            d[key] = value
            return value, False

    def load_and_delete(self, key: Any) -> tuple[Any, bool]:
        """Delete key; return its previous value and whether it was present (Go: LoadAndDelete)."""
        with self._lk:
            d = self._d
            if key in d:
                return d.pop(key), True
            return None, False

    def delete(self, key: Any) -> None:
        """Delete key if present (Go: Delete)."""
        with self._lk:
            old = self._d.pop(key, None)
        del old  # after the lock: its __del__ may use this Map

    def swap(self, key: Any, value: Any) -> tuple[Any, bool]:
        """Store value; return the previous value (or None) and whether there was one (Go: Swap)."""
        with self._lk:
            d = self._d
            loaded = key in d
            prev = d.get(key)
            d[key] = value
            return prev, loaded

    def compare_and_swap(self, key: Any, old: Any, new: Any) -> bool:
        """Store new if key's value matches old; True if it did (Go: CompareAndSwap)."""
        with self._lk:
            d = self._d
            if key in d and _same(d[key], old):
                d[key] = new
                return True
            return False  # (the replaced value is still referenced by the caller's old)

    def compare_and_delete(self, key: Any, old: Any) -> bool:
        """Delete key if its value matches old; True if it did (Go: CompareAndDelete)."""
        with self._lk:
            d = self._d
            if key in d and _same(d[key], old):
                del d[key]
                return True
            return False

    @_rt.user_code_boundary
    def range(self, f: Callable[[Any, Any], Any]) -> None:
        """Call ``f(key, value)`` for each entry until f returns False (Go: Range).

        Only ``False`` stops it (a function returning None runs over all).
        Works on a snapshot: entries stored meanwhile may be missed.
        """
        if not callable(f):
            raise TypeError(f"sync: Map.range: {f!r} is not callable; pass a function "
                            "f(key, value) returning False to stop, or iterate map.items()")
        for k, v in self.items():
            if f(k, v) is False:
                return

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Iterate over a snapshot of the entries (the Python form of range)."""
        with self._lk:
            snapshot = list(self._d.items())
        return iter(snapshot)

    def clear(self) -> None:
        """Delete every entry (Go 1.23: Clear)."""
        with self._lk:
            d, self._d = self._d, {}
        d.clear()  # after the lock: the values' __del__ may use this Map

    def __repr__(self) -> str:
        with self._lk:
            n = len(self._d)
        return f"<gort.sync.Map entries={n}>"
