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

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: deque[G] = deque()

    def acquire(self, gp: G, reason: WaitReason) -> None:
        """Park gp (the running G) until a release picks it."""
        self.waiters.append(gp)
        proc.gopark(gp, reason, Gstatus.WAITING, self)

    def cancel(self, gp: G) -> None:
        """gp stops waiting (proc.goraise): take it out of the FIFO."""
        self.waiters.remove(gp)

    def release_one(self) -> bool:
        """Ready the longest waiter; False if there is none."""
        if not self.waiters:
            return False
        proc.goready(self.waiters.popleft())
        return True

    def release_all(self) -> int:
        """Ready every waiter, in FIFO order; return how many."""
        n = len(self.waiters)
        while self.waiters:
            proc.goready(self.waiters.popleft())
        return n

    def __len__(self) -> int:
        return len(self.waiters)
