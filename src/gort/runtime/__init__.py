"""gort's runtime: the kernel the public API is built on (names mirror Go's src/runtime).

No API promise here; ``gort``, ``gort.time`` and ``gort.sync`` use only the
names in ``__all__``.

Layers (imports point down only)::

    rt0                               bootstrap: run, implicit start, services
    sysmon, preempt, signal_unix      preemption (L3')
    mfinal, chan, select, sema, time, syscall   finalizers, blocking primitives (L3)
    cgocall                           calls from other threads, run on the M
    proc                              the scheduler (L2)
    g, m, p, sched, timers, netpoll, traceback   types (L1)
    error, debug                      (L0)

proc reaches up once, lazily, to rt0.implicit_start (Go's proc.go starts
sysmon from runtime.main the same way).

Ownership, kept true:
- only proc.py switches greenlets, except the preemption hook, which calls
  proc.gopreempt_m;
- blocking is ``gopark`` answered by exactly one ``goready``; sync/ blocks
  only through sema.py;
- only signal_unix.py touches ``signal.*``; threads are started by sysmon.py
  (sysmon) and syscall.py (offload workers); only debug.py reads GODEBUG and
  GOMAXPROCS;
- all mutable state hangs off one ``Sched`` (sched.py), dropped at teardown.
"""

from __future__ import annotations

from .cgocall import cgocallback
from .chan import Chan
from .error import ClosedChannelError, Deadlock, GortInternalError, NotInGoroutine
from .g import G, Gstatus, WaitReason
from .proc import (
    current_sched,
    getg,
    gopark,
    gopreempt_m,
    goraise,
    goready,
    gosched,
    newproc,
    procresize,
    running,
)
from .rt0 import PreemptionWarning, run, run_path
from .select import default, selectgo
from .sema import Sema
from .syscall import offload
from .time import reset_timer, start_timer, stop_timer, time_sleep, to_ns
from .timers import Timer
from .traceback import goroutine_dump, panic_block

__all__ = [
    "Chan",
    "ClosedChannelError",
    "Deadlock",
    "G",
    "GortInternalError",
    "Gstatus",
    "NotInGoroutine",
    "PreemptionWarning",
    "Sema",
    "Timer",
    "WaitReason",
    "cgocallback",
    "current_sched",
    "default",
    "getg",
    "gopark",
    "gopreempt_m",
    "goraise",
    "goready",
    "goroutine_dump",
    "gosched",
    "newproc",
    "offload",
    "panic_block",
    "procresize",
    "reset_timer",
    "run",
    "run_path",
    "running",
    "selectgo",
    "start_timer",
    "stop_timer",
    "time_sleep",
    "to_ns",
]
