"""Finalizers run in their own goroutine (Go: runtime/mfinal.go, ``runfinq`` and ``fing``).

CPython runs finalizers (``__del__``, weakref callbacks) in two ways:
- when a reference count drops to zero, right there, in the thread and at
  the bytecode that dropped it;
- when the cyclic collector finds garbage cycles; it runs automatically in
  whichever thread allocates once generation 0's count passes its threshold
  (3.11: inside the allocation itself; 3.12+: at the next eval-breaker check
  of that thread), so in the middle of gort's scheduler code, or on sysmon's
  thread, or inside another goroutine's channel operation.

A finalizer that calls gort from there sees the runtime half-updated (a G
RUNNING while its M sleeps in the netpoller, a sudog dequeued but its G not
yet readied), and one on sysmon's thread cannot run gort at all. Go has the
same problem and solves it by never running finalizers where they are found:
the collector queues them and a dedicated goroutine, ``fing``, runs them
(wait reason "finalizer wait"). gort does the same with CPython's collector:

- While a runtime runs, automatic collection is off (``gc.disable()`` at
  start, the previous state restored at teardown; ``gc.isenabled()`` is False
  during a run) and collections happen in the finalizer goroutine, as
  CPython's thresholds would have them: the scheduler readies it when
  ``gc.get_count()[0]`` passes ``trigger`` (generation 0's threshold), at the
  top of a scheduling round (``proc.find_runnable``) where everything is
  consistent; it then picks the generation as CPython's
  ``gc_select_generation`` does and calls ``gc.collect(generation)``. Every
  cyclic finalizer thus runs in a goroutine: it may call anything, and may
  block (it parks the finalizer goroutine, as a blocking Go finalizer does;
  the other finalizers wait, as in Go).
- sysmon treats a due collection as work (``Sysmon.runnable_elsewhere``), so
  a goroutine that spins or two that ping-pong through ``runnext`` without
  ever reaching a full scheduling round are preempted for it: a collection is
  late by at most about one time slice.
- Reference drops. The runtime never drops what may be the last reference to
  a user object inside its own critical code: a goroutine's fn, args and
  result are dropped while it is still RUNNING (proc.gmain), a parked G's
  ``waiting`` when it runs again (proc.gopark), ``param`` is set only for a
  select, which clears it (chan.py, select.py), the outcome of a
  cancelled offload goes to ``trash``, dropped here, in a goroutine. Sends
  keep their value referenced by the sender's frame until it resumes, so
  ``close`` and a receive clearing a sender's sudog never drop the last one.

The finalizer goroutine is a system goroutine (G.system): not counted by
``num_goroutine``, not shown in dumps or deadlock reports, never preempted
(a collection switched out halfway would leave CPython's ``collecting`` flag
set for everyone). It is created by the first due collection of a run.

The generation. CPython collects the oldest generation whose count passed
its threshold, but generation 2 only if the objects that survived into it
since the last full collection (``long_lived_pending``) are at least a
quarter of those it held then (``long_lived_total``), which keeps building
a big structure linear. Python cannot read those two counters, so they are
estimated: survivors of a generation-0 or -1 collection are the count it
started from minus what it found unreachable; the total is read, when a full
collection is in question, as ``sys.getallocatedblocks() // 3`` (measured: 2.7
allocated blocks per generation-2 object in a test process with 430 000;
``len(gc.get_objects(2))`` is exact but took 24 ms there, against 0.09 ms).

Limits (documented in docs/design.md):
- A finalizer that blocks parks the finalizer goroutine inside
  ``gc.collect``: the collection's C frame, with list heads on its stack,
  is saved by greenlet while other goroutines run. CPython's own threads
  allow the same (a finalizer releasing the GIL), but there the stack stays
  in place; here, an object that the blocked finalizer resurrected and that
  another goroutine then frees would unlink itself from a list head that is
  not where it was. Non-blocking finalizers (the resource-pool pattern) are
  unaffected: the goroutine does not switch during a collection.
- A run that ends while a finalizer blocks: the finalizer goroutine is
  abandoned like any other (abandon.py), but it is released first, when
  gort.run returns: its collection must finish (CPython runs one collection
  at a time, so one suspended for good would stop every later one, and the
  saved C stack holds its list heads). The blocked finalizer is unwound
  running none of its handlers, quietly; the collection's other finalizers
  then run, outside any runtime: their non-blocking gort calls work, the
  blocking ones raise error.Finalizing. The implicit runtime ends with the
  process and leaves it suspended.
- Threads other than the runtime's allocate without collecting while every
  goroutine is blocked; their collection comes with the next scheduling round
  (an offload finishing wakes the M; a plain thread can call ``gc.collect()``,
  whose finalizers then run in that thread: see cgocall.py).
- ``gc.enable()`` during a run hands automatic collection back to CPython for
  the rest of the run (finalizers run wherever CPython runs them again).

Rejected: running collections on a dedicated thread (its finalizers could
block without the stack caveat above, but each collection would cost two GIL
hand-offs, and every gort call from a finalizer would queue to the M);
``gc.callbacks`` (they observe a collection but cannot move its finalizers);
``gc.freeze`` (stops collecting the frozen objects, does not move finalizers).
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from greenlet import GreenletExit

from . import proc
from .g import G, Gstatus, WaitReason
from .sched import Sched

# (young, pending) at the end of the last run: the next run starts from them.
_carried: list[int] = [0, 0]


class Finq:
    """The finalizer goroutine's state for one run (Go: finq, fing, fingStatus)."""

    # What sysmon's reports call the goroutine (traceback.system_role): its number, from
    # SYSTEM_GOID_BASE on, means nothing to the program.
    role = ("gort's finalizer goroutine: the program's __del__ methods and weakref "
            "callbacks, and collections, run in it")

    def __init__(self, s: Sched) -> None:
        self.s = s
        self.g: G | None = None  # the finalizer goroutine, created on first need
        self.parked = False  # it waits in "finalizer wait"
        # References the runtime let go of inside its own critical code, dropped here.
        self.trash: list[Any] = []
        self.was_enabled = gc.isenabled()
        # Automatic collection is the runtime's only if it was on at start.
        self.managed = self.was_enabled
        # Estimates of CPython's long_lived_pending / long_lived_total (see the essay),
        # carried from run to run as CPython's own counters are process-wide: with a
        # fresh estimate per run, many short runs never came to a full collection and
        # their cyclic garbage (abandoned goroutines' frames) piled up.
        self.young, self.pending = _carried
        self.collections = [0, 0, 0]  # collections run here, per generation

    def start(self) -> None:
        """Take automatic collection over (if it is on); restored by ``stop``."""
        if self.managed:
            gc.disable()
            # The first collection comes a threshold's worth of allocations into the run,
            # not at its first park: the young garbage of the imports before it made that
            # park run the finalizer goroutine's collection first (a ms or more), and a
            # goroutine just started waited behind it and behind the timers that came due
            # meanwhile (examples/spin_ok.py printed OK under asyncpreemptoff=1).
            self.set_trigger(collected=False)
        self.s.finq = self
        self.s.closers.append(self.stop)

    def stop(self) -> None:
        if self.managed and not gc.isenabled():
            gc.enable()
        self.s.gctrigger = _NEVER

    def set_trigger(self, collected: bool = True) -> None:
        if not self.managed or gc.isenabled():
            # Not ours, or the program turned automatic collection back on.
            self.s.gctrigger = _NEVER
            return
        t0 = gc.get_threshold()[0]
        # threshold 0 disables automatic collection in CPython too. A collection that
        # did not happen (one already in progress elsewhere: gc.collect returns at
        # once) waits for another threshold's worth of allocations before the next try.
        if t0 == 0:
            self.s.gctrigger = _NEVER
        elif collected:
            self.s.gctrigger = t0
        else:
            self.s.gctrigger = gc.get_count()[0] + t0

    def due(self) -> bool:
        """Would the finalizer goroutine have work now? (sysmon reads this racily.)"""
        return bool(self.trash) or ((self.parked or self.g is None)
                                    and gc.get_count()[0] > self.s.gctrigger)

    # -- the scheduler's side --------------------------------------------------

    def wake(self) -> None:
        """Ready the finalizer goroutine if it waits (proc.find_runnable); create it first."""
        gp = self.g
        if gp is None:
            self.g = proc.newproc_system(self.s, self.main, ())
        elif self.parked:
            self.parked = False
            proc.goready(gp)

    def cancel(self, gp: G) -> None:
        """gp stops waiting (proc.goraise): it is no longer parked here."""
        self.parked = False

    # -- the finalizer goroutine --------------------------------------------------

    def main(self) -> None:
        """The finalizer goroutine's body (Go: runfinq)."""
        gp = proc.getg()
        while True:
            self.run()
            if self.s.closing:
                # abandon.reap unwound a blocked finalizer (the GreenletExit swallowed by
                # the collection, which then finished): end here, never park again.
                raise GreenletExit
            self.parked = True
            proc.gopark(gp, WaitReason.FINALIZER_WAIT, Gstatus.WAITING, self)

    def run(self) -> None:
        """Drop the trash, then collect if due; in the finalizer goroutine."""
        while self.trash:
            trash, self.trash = self.trash, []
            del trash  # finalizers run here, in this goroutine
        if self.s.gctrigger == _NEVER or gc.get_count()[0] <= self.s.gctrigger:
            return
        gen = self.select_generation()
        self.set_trigger(gen < 0 or self.collect(gen))

    def select_generation(self) -> int:
        """The generation CPython's gc_select_generation would collect now, or -1."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for i in (2, 1, 0):
            if counts[i] > thresholds[i]:
                if i == 2 and self.pending < sys.getallocatedblocks() // _BLOCKS_PER_OBJECT // 4:
                    continue
                return i
        return -1

    def collect(self, gen: int) -> bool:
        """Collect generation gen (and the younger ones); False if no collection ran."""
        c0 = gc.get_count()[0]
        before = gc.get_stats()[gen]["collections"]
        found = gc.collect(gen)
        if gc.get_stats()[gen]["collections"] == before:
            return False  # a collection was already in progress (another thread's)
        self.collections[gen] += 1
        survivors = max(0, c0 + (self.young if gen >= 1 else 0) - found)
        if gen == 0:
            self.young += survivors
        elif gen == 1:
            self.young = 0
            self.pending += survivors
        else:
            self.young = 0
            self.pending = 0
        _carried[:] = [self.young, self.pending]
        return True


def young_collected(c0: int, found: int) -> None:
    """Count a generation-1 collection made between runs (abandon.reap: ``c0``, generation
    0's count before it; ``found``, what it collected): its survivors went to generation
    2 and count toward the next full collection, as Finq.collect counts its own. Without
    this, 50 runs that each promoted their abandoned goroutines' survivors grew RSS from
    31 to 66 MB: the full collection never came due."""
    young, pending = _carried
    _carried[:] = [0, pending + max(0, c0 + young - found)]


_NEVER = 1 << 62
_BLOCKS_PER_OBJECT = 3
