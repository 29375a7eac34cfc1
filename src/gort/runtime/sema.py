"""What gort.sync parks on (Go: runtime/sema.go, reduced to one M).

A ``Sema`` is a FIFO of parked goroutines. ``release_one`` readies the
longest waiter; callers that pass ownership with it (Mutex, RWMutex) get Go's
starvation-mode hand-off: the woken G owns the lock before anyone else can
take it, so no waiter starves. "Every sleep is paired with a single wakeup":
each ``acquire`` parks once and is readied by exactly one release.
"""

from __future__ import annotations

from collections import deque

from . import proc
from .g import G, Gstatus, WaitReason


class Sema:
    """A FIFO of goroutines parked on one synchronisation object."""

    __slots__ = ("stale", "waiters")

    def __init__(self) -> None:
        self.waiters: deque[G] = deque()
        # Some waiter belongs to an ended run (abandon.reap marked it DEAD): dropped
        # before the next release or count, all at once (one pass, not one per waiter).
        self.stale = False

    def acquire(self, gp: G, reason: WaitReason) -> None:
        """Park gp (the running G) until a release picks it."""
        self.waiters.append(gp)
        proc.gopark(gp, reason, Gstatus.WAITING, self)

    def cancel(self, gp: G) -> None:
        """gp stops waiting (proc.goraise): take it out of the FIFO."""
        self.waiters.remove(gp)

    def abandon(self, gp: G) -> None:
        """gp's run ended with gp parked here (abandon.reap, which marked it DEAD): the
        gort.sync object outlives the run, and a later run's release must not hand an
        abandoned goroutine the lock or tokens (never resumed, it would keep them)."""
        self.stale = True

    def _drop_stale(self) -> None:
        self.waiters = deque(g for g in self.waiters if g.status is not Gstatus.DEAD)
        self.stale = False

    def release_one(self) -> bool:
        """Ready the longest waiter; False if there is none."""
        if self.stale:
            self._drop_stale()
        if not self.waiters:
            return False
        proc.goready(self.waiters.popleft())
        return True

    def release_all(self) -> int:
        """Ready every waiter, in FIFO order; return how many."""
        if self.stale:
            self._drop_stale()
        n = len(self.waiters)
        while self.waiters:
            proc.goready(self.waiters.popleft())
        return n

    def __len__(self) -> int:
        if self.stale:
            self._drop_stale()
        return len(self.waiters)
