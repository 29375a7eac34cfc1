"""sync.WaitGroup (Go: sync/waitgroup.go)."""

from __future__ import annotations

from .. import runtime as _rt


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
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"sync: WaitGroup.add takes an int, got {delta!r}")
        n = self._n + delta
        if n < 0:
            raise ValueError("sync: negative WaitGroup counter; call done() once per add(1)")
        self._n = n
        if n == 0:
            self._sema.release_all()

    def done(self) -> None:
        """Decrement the counter by one."""
        self.add(-1)

    def wait(self) -> None:
        """Park until the counter is zero."""
        gp = _rt.getg()
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        if self._n == 0:
            return
        self._sema.acquire(gp, _rt.WaitReason.SYNC_WAITGROUP_WAIT)
