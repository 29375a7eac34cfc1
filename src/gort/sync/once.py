"""sync.Once (Go: sync/once.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .mutex import Mutex


class Once:
    """Runs a function exactly once.

    ``do(fn)`` calls fn only the first time; concurrent callers wait until it
    has returned. As in Go, if fn raises, do considers it done: the exception
    propagates to that caller and later calls do nothing.
    """

    __slots__ = ("_done", "_m")

    def __init__(self) -> None:
        self._done = False
        self._m = Mutex()

    def do(self, fn: Callable[[], Any]) -> None:
        """Call fn if and only if do has not been called on this Once before."""
        if self._done:
            return
        if not callable(fn):
            raise TypeError(f"sync: Once.do: {fn!r} is not callable")
        with self._m:
            if not self._done:
                try:
                    fn()
                finally:
                    self._done = True
