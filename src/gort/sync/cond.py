"""sync.Cond (Go: sync/cond.go)."""

from __future__ import annotations

from .. import runtime as _rt
from .mutex import Mutex, waker_alone
from .rwmutex import RWMutex


class Cond:
    """A rendezvous for goroutines waiting for an event, with its lock ``L``.

    ``wait`` unlocks L, parks until signal or broadcast, then locks L again
    before returning; check the condition in a loop, as in Go.
    """

    __slots__ = ("L", "_sema")

    def __init__(self, lock: Mutex | RWMutex) -> None:
        if not isinstance(lock, Mutex | RWMutex):
            raise TypeError(f"sync: Cond needs a gort.sync.Mutex or RWMutex, got {lock!r}")
        self.L = lock
        self._sema = _rt.Sema()

    def wait(self) -> None:
        """Unlock L, park until woken, lock L again."""
        gp = _rt.getg()
        self.L.unlock()
        try:
            self._sema.acquire(gp, _rt.WaitReason.SYNC_COND_WAIT)
        finally:
            self._relock()

    def _relock(self) -> None:
        """Lock L again, as Go's Wait does before it returns (or raises). An exception
        thrown into the goroutine while it waits for L (a signal handler's) is raised
        once L is held: raised at once, it left the caller's ``with cond.L:`` to unlock
        a mutex it did not hold ("unlock of unlocked mutex", the first error lost)."""
        pending: BaseException | None = None
        while True:
            try:
                self.L.lock()
                break
            except BaseException as e:  # lock left L's queue cleanly; wait for L again
                if pending is None:
                    pending = e
        if pending is not None:
            raise pending

    def signal(self) -> None:
        """Wake the goroutine that has waited longest, if any."""
        if waker_alone(self.signal) is not False:  # run on the M, or no goroutine left
            return
        self._sema.release_one()

    def broadcast(self) -> None:
        """Wake every waiting goroutine."""
        if waker_alone(self.broadcast) is not False:  # run on the M, or no goroutine left
            return
        self._sema.release_all()
