"""sync.Mutex (Go: sync/mutex.go), always in Go's starvation mode.

Unlock hands the lock straight to the longest waiter (it stays locked, now
owned by that goroutine), so waiters are served in FIFO order and none can
starve; Go switches to this mode after a waiter has waited 1 ms, gort stays
in it because with one M a barging locker would almost always win.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from .. import runtime as _rt


def goroutine_or_take(take: Callable[[], bool]) -> _rt.G | None:
    """The calling goroutine, for a lock that may wait; None where no goroutine is left
    (a finalizer at interpreter exit or at a run's end) and ``take`` (the lock's try)
    took the lock without a wait. Finalizing if it would have to wait there. A goroutine
    asked to stop (``gp.preempt``) yields here first: a lock's entry is a safe point."""
    try:
        gp = _rt.getg()
    except _rt.Finalizing:  # no goroutine left: only a lock that needs no wait
        if not take():
            raise
        return None
    if gp.preempt:
        _rt.gopreempt_m(gp, False)
    return gp


def waker_alone(retry: Callable[..., None], *args: Any) -> bool | None:
    """Where a release or wake-up (unlock, signal, done) runs, before it touches the lock.

    None: the caller is a thread with no goroutine; ``retry(*args)`` was run on the M
    instead (cgocall) and the caller returns. True: no goroutine is left (a finalizer at
    interpreter exit or at a run's end): the waiters are gone and never woken, so the
    caller only updates its state. False: a goroutine, the ordinary case.
    """
    try:
        _rt.getg()
    except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
        _rt.cgocallback(e.s, retry, *args)
        return None
    except _rt.Finalizing:
        return True
    return False


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
        alone = waker_alone(self.unlock)
        if alone is None:
            return
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
