"""sync.Once and Go 1.21's OnceFunc, OnceValue, OnceValues (Go: sync/once.go, sync/oncefunc.go).

``Once.do`` holds a Mutex while fn runs, so concurrent callers park until
the first has returned, as Go's slow path. The ``once_*`` wrappers are built
on it and remember fn's outcome: its value, or the exception it raised, which
every later call raises again (Go re-panics with the same value). The same
exception object is raised each time, its traceback reset to fn's original
one so repeated calls do not pile frames onto it. The functions that call fn
are user-code boundaries (runtime/preempt.py): fn stays preemptible.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from .. import runtime as _rt
from .mutex import Mutex

T = TypeVar("T")


class Once:
    """Runs a function exactly once.

    ``do(fn, *args)`` calls fn only the first time; concurrent callers wait
    until it has returned. As in Go, if fn raises, do considers it done: the
    exception propagates to that caller and later calls do nothing.
    """

    __slots__ = ("_done", "_m")

    def __init__(self) -> None:
        self._done = False
        self._m = Mutex()

    @_rt.user_code_boundary
    def do(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` if and only if do has not been called on this Once.

        Go: Once.Do (which takes no arguments; pass them here instead of a closure).
        TypeError if fn is not callable.
        """
        if self._done:
            return
        if not callable(fn):
            raise TypeError(f"sync: Once.do: {fn!r} is not callable; pass the function "
                            "and its arguments separately, e.g. once.do(setup, cfg)")
        with self._m:
            if not self._done:
                try:
                    fn(*args, **kwargs)
                finally:
                    self._done = True


class _OnceCall(Generic[T]):
    """The callable once_func/once_value/once_values return: fn's outcome, computed once."""

    __slots__ = ("__wrapped__", "_exc", "_f", "_once", "_tb", "_value")

    def __init__(self, f: Callable[[], T]) -> None:
        self._f: Callable[[], T] | None = f
        self.__wrapped__ = f
        self._once = Once()
        self._value: T | None = None
        self._exc: BaseException | None = None
        self._tb: TracebackType | None = None

    @_rt.user_code_boundary
    def _call(self) -> None:
        f = self._f
        assert f is not None
        try:
            self._value = f()
        except BaseException as e:
            self._exc = e
            self._tb = e.__traceback__
            raise
        finally:
            self._f = None  # as Go, drop f (and what it holds) once it has run

    @_rt.user_code_boundary
    def __call__(self) -> T:
        self._once.do(self._call)
        exc = self._exc
        if exc is not None:
            raise exc.with_traceback(self._tb)
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<gort.sync once-wrapper of {self.__wrapped__!r}>"


def _check(f: object, who: str) -> None:
    if not callable(f):
        raise TypeError(f"sync: {who}: {f!r} is not callable; pass a function of no "
                        "arguments (use functools.partial to bind some)")


def once_func(f: Callable[[], Any]) -> Callable[[], None]:
    """A function that calls f only the first time it is called (Go 1.21: sync.OnceFunc).

    Every call after the first returns at once; if f raised, every call
    raises that exception again. Concurrent first calls wait for f.
    """
    _check(f, "once_func")
    call = _OnceCall(f)

    @_rt.user_code_boundary
    def once() -> None:
        call()

    once.__wrapped__ = f  # type: ignore[attr-defined]
    return once


def once_value(f: Callable[[], T]) -> Callable[[], T]:
    """A function that calls f once and returns its value on every call (Go 1.21: OnceValue).

    If f raised, every call raises that exception again.
    """
    _check(f, "once_value")
    return _OnceCall(f)


def once_values(f: Callable[[], tuple[Any, ...]]) -> Callable[[], tuple[Any, ...]]:
    """once_value for an f returning a tuple (Go 1.21: OnceValues, whose f returns two values).

    Python returns several values as one tuple, so this is once_value; it
    exists so code ported from Go keeps its name.
    """
    _check(f, "once_values")
    return _OnceCall(f)
