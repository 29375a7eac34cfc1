"""Per-P timer heaps (Go: the heap half of runtime/time.go; the rest is in time.py).

Each P owns a binary heap of timers ordered by ``when`` (monotonic ns). The M
holding the P runs the expired ones at the top of every scheduling round
(``check_timers``) and, when it has nothing to run, sleeps in the netpoller
no longer than the earliest ``when``. Timer functions run on the scheduler's
path, not in a goroutine: they must not block (they goready a G or do a
non-blocking channel send).

Deletion is lazy, as Go's is: a stopped or reset timer leaves its old heap
entry behind, recognised as stale by its sequence number and dropped when it
reaches the top; when stale entries outnumber live ones the heap is rebuilt,
so a loop that stops timers cannot grow it without bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Timer:
    """A runtime timer: call ``f(arg, now)`` at ``when``, then every ``period`` ns if > 0."""

    __slots__ = ("active", "arg", "f", "period", "seq", "weak", "when")

    def __init__(self, when: int, period: int, f: Callable[[Any, int], None], arg: Any,
                 weak: bool = False) -> None:
        self.when = when
        self.period = period
        self.f = f
        self.arg = arg
        self.seq = -1  # sequence number of this timer's live heap entry
        self.active = False
        # A weak timer does not keep the program alive: with only weak timers left,
        # checkdead still reports a deadlock (a test's watchdog must not hide one).
        self.weak = weak


class Timers:
    """One P's timer heap. Touched only by the M holding the P."""

    __slots__ = ("heap", "nextseq", "nweak", "stale")

    def __init__(self) -> None:
        self.nweak = 0  # active weak timers
        self.heap: list[tuple[int, int, Timer]] = []
        self.nextseq = 0
        self.stale = 0

    def __len__(self) -> int:
        return len(self.heap) - self.stale

    def add(self, t: Timer) -> None:
        """Start t (Go: addtimer). t must not be active."""
        seq = self.nextseq
        self.nextseq = seq + 1
        t.seq = seq
        t.active = True
        if t.weak:
            self.nweak += 1
        heapq.heappush(self.heap, (t.when, seq, t))

    def delete(self, t: Timer) -> bool:
        """Stop t; True if it was pending (Go: deltimer)."""
        if not t.active:
            return False
        t.active = False
        if t.weak:
            self.nweak -= 1
        self.stale += 1
        if self.stale > 64 and self.stale * 2 > len(self.heap):
            # In place: run() may be looping over this very list (a timer function that
            # stops another timer), and must not go on with a stale copy.
            self.heap[:] = [e for e in self.heap if e[2].active and e[1] == e[2].seq]
            heapq.heapify(self.heap)
            self.stale = 0
        return True

    def modify(self, t: Timer, when: int) -> bool:
        """Move t to fire at ``when``; True if it was pending (Go: modtimer)."""
        was = self.delete(t)
        t.when = when
        self.add(t)
        return was

    def only_weak(self) -> bool:
        """True if every active timer is weak (none keeps the program alive)."""
        return len(self) == self.nweak

    def next_when(self) -> int | None:
        """The earliest live ``when``, or None."""
        heap = self.heap
        while heap:
            when, seq, t = heap[0]
            if t.active and t.seq == seq:
                return when
            heapq.heappop(heap)
            self.stale -= 1
        return None

    def run(self, now: int) -> int:
        """Run every timer due at ``now`` (Go: checkTimers/runtimer); return how many ran."""
        heap = self.heap
        n = 0
        while heap and heap[0][0] <= now:
            when, seq, t = heapq.heappop(heap)
            if not t.active or t.seq != seq:
                self.stale -= 1
                continue
            if t.period > 0:
                # Go's periodic timers skip the periods they missed (tickers drop ticks).
                t.when = min(when + t.period * (1 + (now - when) // t.period), (1 << 63) - 1)
                seq2 = self.nextseq
                self.nextseq = seq2 + 1
                t.seq = seq2
                heapq.heappush(heap, (t.when, seq2, t))
            else:
                t.active = False
                if t.weak:
                    self.nweak -= 1
            n += 1
            t.f(t.arg, now)
        return n

