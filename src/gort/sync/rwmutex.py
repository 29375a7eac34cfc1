"""sync.RWMutex (Go: sync/rwmutex.go).

Many readers or one writer. A writer that asks for the lock stops new
readers from entering (so a stream of readers cannot starve it); when a
writer unlocks, the readers that queued meanwhile all go in before the next
writer (so writers cannot starve readers either). Go's counters become
explicit state here because one M runs everything.
"""

from __future__ import annotations

from .. import runtime as _rt


class RWMutex:
    """A reader/writer lock for goroutines."""

    __slots__ = ("_readers", "_rsema", "_writer", "_wsema")

    def __init__(self) -> None:
        self._readers = 0  # readers holding the lock
        self._writer = False  # a writer holds the lock
        self._rsema = _rt.Sema()  # readers waiting
        self._wsema = _rt.Sema()  # writers waiting

    def rlock(self) -> None:
        """Lock for reading; waits while a writer holds or is waiting for the lock."""
        gp = _rt.getg()
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        if self._writer or len(self._wsema):
            self._rsema.acquire(gp, _rt.WaitReason.SYNC_RWMUTEX_RLOCK)  # woken as a reader
            return
        self._readers += 1

    def runlock(self) -> None:
        """Undo one rlock; the last reader out lets a waiting writer in."""
        try:
            _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
            _rt.cgocallback(e.s, self.runlock)
            return
        if self._readers <= 0:
            raise RuntimeError("sync: RUnlock of unlocked RWMutex; every runlock must "
                               "follow an rlock")
        self._readers -= 1
        if self._readers == 0 and len(self._wsema):
            self._writer = True
            self._wsema.release_one()

    def lock(self) -> None:
        """Lock for writing; waits for the readers and any writer to leave."""
        gp = _rt.getg()
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        if self._writer or self._readers or len(self._wsema):
            self._wsema.acquire(gp, _rt.WaitReason.SYNC_RWMUTEX_LOCK)  # woken as the writer
            return
        self._writer = True

    def unlock(self) -> None:
        """Undo lock; queued readers go first, then the next writer."""
        try:
            _rt.getg()
        except _rt.NotInGoroutine as e:  # another thread: run it on the M (cgocall)
            _rt.cgocallback(e.s, self.unlock)
            return
        if not self._writer:
            raise RuntimeError("sync: Unlock of unlocked RWMutex; every unlock must "
                               "follow a lock")
        self._writer = False
        if len(self._rsema):
            self._readers += self._rsema.release_all()
        elif len(self._wsema):
            self._writer = True
            self._wsema.release_one()
