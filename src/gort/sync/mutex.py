"""sync.Mutex (Go: sync/mutex.go), always in Go's starvation mode.

Unlock hands the lock straight to the longest waiter (it stays locked, now
owned by that goroutine), so waiters are served in FIFO order and none can
starve; Go switches to this mode after a waiter has waited 1 ms, gort stays
in it because with one M a barging locker would almost always win.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from .. import runtime as _rt


def goroutine_or_take(take: Callable[[], bool]) -> _rt.G | None:
    """The calling goroutine, for a lock that may wait; None where no goroutine is left
    (a finalizer at interpreter exit or at a run's end) and ``take`` (the lock's try)
    took the lock without a wait. Finalizing if it would have to wait there."""
    try:
        return _rt.getg()
    except _rt.Finalizing:  # no goroutine left: only a lock that needs no wait
        if not take():
            raise
        return None


class Mutex:
    """A mutual exclusion lock for goroutines; parks them, never the OS thread."""

    __slots__ = ("_locked", "_sema")

    def __init__(self) -> None:
        self._locked = False
        self._sema = _rt.Sema()

    def lock(self) -> None:
        """Lock; if it is held, park until it is handed to this goroutine.

        Finalizing (a finalizer at interpreter exit or at a run's end) if it is held.
        """
        gp = goroutine_or_take(self.try_lock)
        if gp is None:
            return
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        if not self._locked:
            self._locked = True
            return
        self._sema.acquire(gp, _rt.WaitReason.SYNC_MUTEX_LOCK)  # woken owning the lock

    def try_lock(self) -> bool:
        """Lock if free; never blocks. True if this call took the lock."""
        try:
            _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
            return _rt.cgocallback(e.s, self.try_lock)  # type: ignore[no-any-return]
        except _rt.Finalizing:  # at interpreter exit: as always, without a goroutine
            pass
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self) -> None:
        """Unlock, handing the lock to the longest waiter if there is one."""
        try:
            _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
            _rt.cgocallback(e.s, self.unlock)
            return
        except _rt.Finalizing:  # at interpreter exit: the waiters are gone, just unlock
            alone = True
        else:
            alone = False
        if not self._locked:
            raise RuntimeError("sync: unlock of unlocked mutex; every unlock must follow a lock")
        if alone or not self._sema.release_one():
            self._locked = False

    def locked(self) -> bool:
        return self._locked

    def __enter__(self) -> Mutex:
        self.lock()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.unlock()
