"""sync.WaitGroup (Go: sync/waitgroup.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import runtime as _rt
from ..runtime.chan import core_waitgroup


class WaitGroup:
    """Waits for a collection of goroutines to finish: add(n), done(), wait()."""

    __slots__ = ("_n", "_sema")

    def __init__(self) -> None:
        self._n = 0
        self._sema = _rt.Sema()

    def add(self, delta: int) -> None:
        """Add delta (may be negative) to the counter; at zero, release every waiter."""
        try:
            _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
            _rt.cgocallback(e.s, self.add, delta)
            return
        except _rt.Finalizing:  # at interpreter exit: the waiters are gone, count only
            alone = True
        else:
            alone = False
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"sync: WaitGroup.add takes an int, got {delta!r}")
        n = self._n + delta
        if n < 0:
            raise ValueError("sync: negative WaitGroup counter; call done() once per add(1)")
        self._n = n
        if n == 0 and not alone:
            self._sema.release_all()

    def done(self) -> None:
        """Decrement the counter by one."""
        self.add(-1)

    def go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """add(1), then start ``fn(*args, **kwargs)`` in a goroutine that calls done() when
        fn returns or raises (Go 1.25: WaitGroup.Go). fn's exception is a goroutine's:
        uncaught, it ends the run (done() still runs first). TypeError if fn is not callable.
        Callable from a thread that runs no goroutines, as gort.go and add are.
        """
        if not callable(fn):
            raise TypeError(f"sync: WaitGroup.go: {fn!r} is not callable; pass the function "
                            "and its arguments separately, e.g. wg.go(worker, 1)")
        try:
            gp = _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M, as gort.go
            _rt.cgocallback(e.s, self.go, fn, *args, **kwargs)
            return
        if gp.preempt:
            _rt.gopreempt_m(gp, False)  # before anything is done (gort.go)
        self._n += 1
        s = _rt.running()
        assert s is not None
        _rt.newproc(s, _run, (self, fn, args, kwargs), {}, gp)

    def wait(self) -> None:
        """Park until the counter is zero."""
        gp = _rt.getg()
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        if self._n == 0:
            return
        self._sema.acquire(gp, _rt.WaitReason.SYNC_WAITGROUP_WAIT)


core_waitgroup(WaitGroup)  # the C core's add/done, where it runs (falls back to the above)


@_rt.user_code_boundary
def _run(wg: WaitGroup, fn: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> None:
    try:
        fn(*args, **kwargs)
    finally:
        wg.done()
