"""Processors: the resource an M needs to run Go code (Go: runtime2.go type p).

The local run queue is Go's: a 256-slot ring (``runq``, ``runqhead``,
``runqtail``) plus ``runnext``, the G that runs next and inherits the current
time slice. Only the M holding the P touches them (stealing reads through
``runqgrab``, done by the same M while only one M runs goroutines).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .g import G
    from .m import M
    from .timers import Timers

RUNQ_SIZE: Final = 256


class Pstatus(enum.IntEnum):
    """Go's _P* constants, same numbers."""

    IDLE = 0
    RUNNING = 1
    SYSCALL = 2
    GCSTOP = 3
    DEAD = 4


class SysmonTick:
    """sysmon's private copy of what it last saw of a P (Go: sysmontick). Written only by sysmon."""

    __slots__ = ("busy_cpu", "busy_since", "cpu_ns", "cpu_when", "last_run", "last_signal",
                 "reported_since", "schedtick", "schedwhen")

    def __init__(self) -> None:
        self.schedtick = 0
        self.schedwhen = 0
        self.last_signal = 0
        # The M's thread CPU time at the last look, when that look was, and the last look
        # that saw it advance (sysmon.py: an M whose clock stands still is blocked in C).
        self.cpu_ns = -1
        self.cpu_when = 0
        self.last_run = 0
        # Since when every look found the same slice running (0: the last look found the M
        # idle): sysmon's unyielding report needs a whole second of it, and is made once a
        # slice (reported_since: the busy_since reported). A look that finds the thread's
        # CPU clock still (blocked in C, or not scheduled on a loaded machine) neither
        # ends the slice nor reports it: under load 14 a spinning thread got no CPU
        # between two looks, and the report never came (adversarial F3).
        self.busy_since = 0
        self.reported_since = 0
        # The thread's CPU time when busy_since was set (-1: no CPU clock): the report
        # counts the CPU time the slice used, not the wall time (on a loaded machine a
        # goroutine that ran 0.25 s of CPU in 2 s was reported as "run for 1.0s").
        self.busy_cpu = -1


class P:
    """One processor: a run queue, timers, and counters sysmon reads."""

    __slots__ = (
        "gcpoll",
        "gfree",
        "id",
        "m",
        "runnext",
        "runq",
        "runqhead",
        "runqtail",
        "schedtick",
        "schedwhen",
        "status",
        "syscalltick",
        "sysmontick",
        "timers",
    )

    def __init__(self, pid: int, timers: Timers) -> None:
        self.id = pid
        self.status = Pstatus.IDLE
        self.m: M | None = None
        self.runq: list[G | None] = [None] * RUNQ_SIZE
        self.runqhead = 0
        self.runqtail = 0
        self.runnext: G | None = None
        # Incremented on every scheduling that starts a new time slice.
        self.schedtick = 0
        # monotonic ns when the current time slice started; read by sysmon.
        self.schedwhen = 0
        self.syscalltick = 0
        self.timers = timers
        self.gcpoll = 0  # fast hand-offs left before proc.gcpoll looks at the gc count
        self.gfree: list[G] = []  # dead Gs kept for reuse (Go: gfget/gfput)
        self.sysmontick = SysmonTick()

    def runqlen(self) -> int:
        return self.runqtail - self.runqhead + (self.runnext is not None)
