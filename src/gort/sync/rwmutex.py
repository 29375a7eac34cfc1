"""sync.RWMutex (Go: sync/rwmutex.go).

Many readers or one writer. A writer that asks for the lock stops new
readers from entering (so a stream of readers cannot starve it); when a
writer unlocks, the readers that queued meanwhile all go in before the next
writer (so writers cannot starve readers either). Go's counters become
explicit state here because one M runs everything.
"""

from __future__ import annotations

from types import TracebackType

from .. import runtime as _rt
from .mutex import goroutine_or_take, waker_alone


class RWMutex:
    """A reader/writer lock for goroutines.

    ``with rw:`` holds the write lock; ``with rw.rlocker():`` a read lock.
    """

    __slots__ = ("_readers", "_rsema", "_writer", "_wsema")

    def __init__(self) -> None:
        self._readers = 0  # readers holding the lock
        self._writer = False  # a writer holds the lock
        self._rsema = _rt.Sema()  # readers waiting
        self._wsema = _rt.Sema()  # writers waiting

    def rlock(self) -> None:
        """Lock for reading; waits while a writer holds or is waiting for the lock.

        Finalizing (a finalizer at interpreter exit or at a run's end) if it would wait.
        """
        gp = goroutine_or_take(self.try_rlock)
        if gp is None:
            return
        if self._writer or len(self._wsema):
            self._rsema.acquire(gp, _rt.WaitReason.SYNC_RWMUTEX_RLOCK)  # woken as a reader
            return
        self._readers += 1

    @_rt.on_m  # non-blocking: callable from any thread
    def try_rlock(self) -> bool:
        """Lock for reading if that needs no wait; True if it did (Go: TryRLock)."""
        # With no goroutine left (Finalizing), a queued writer is abandoned: not waiting.
        alone = _rt.no_goroutine_left()
        if self._writer or (len(self._wsema) and not alone):
            return False
        self._readers += 1
        return True

    def try_lock(self) -> bool:
        """Lock for writing if the lock is free; True if it did (Go: TryLock)."""
        # With no goroutine left (Finalizing), a queued writer is abandoned: not waiting.
        alone = _rt.no_goroutine_left()
        if self._writer or self._readers or (len(self._wsema) and not alone):
            return False
        self._writer = True
        return True

    def rlocker(self) -> RLocker:
        """A lock whose lock/unlock are this RWMutex's rlock/runlock (Go: RLocker)."""
        return RLocker(self)

    def __enter__(self) -> RWMutex:
        self.lock()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.unlock()

    def runlock(self) -> None:
        """Undo one rlock; the last reader out lets a waiting writer in."""
        alone = waker_alone(self.runlock)
        if alone is None:
            return
        if self._readers <= 0:
            raise RuntimeError("sync: RUnlock of unlocked RWMutex; every runlock must "
                               "follow an rlock")
        self._readers -= 1
        if self._readers == 0 and len(self._wsema) and not alone:
            self._writer = True
            self._wsema.release_one()

    def lock(self) -> None:
        """Lock for writing; waits for the readers and any writer to leave.

        Finalizing (a finalizer at interpreter exit or at a run's end) if it would wait.
        """
        gp = goroutine_or_take(self.try_lock)
        if gp is None:
            return
        if self._writer or self._readers or len(self._wsema):
            self._wsema.acquire(gp, _rt.WaitReason.SYNC_RWMUTEX_LOCK)  # woken as the writer
            return
        self._writer = True

    def unlock(self) -> None:
        """Undo lock; queued readers go first, then the next writer."""
        alone = waker_alone(self.unlock)
        if alone is None:
            return
        if not self._writer:
            raise RuntimeError("sync: Unlock of unlocked RWMutex; every unlock must "
                               "follow a lock")
        self._writer = False
        if alone:
            return
        if len(self._rsema):
            self._readers += self._rsema.release_all()
        elif len(self._wsema):
            self._writer = True
            self._wsema.release_one()


class RLocker:
    """The read side of an RWMutex as a lock: ``lock`` is rlock, ``unlock`` runlock.

    A context manager too: ``with rw.rlocker():`` reads under the lock.
    """

    __slots__ = ("_rw",)

    def __init__(self, rw: RWMutex) -> None:
        self._rw = rw

    def lock(self) -> None:
        """rlock the RWMutex."""
        self._rw.rlock()

    def unlock(self) -> None:
        """runlock the RWMutex."""
        self._rw.runlock()

    def __enter__(self) -> RLocker:
        self._rw.rlock()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._rw.runlock()
