"""gort's runtime: the kernel the public API is built on (names mirror Go's src/runtime).

No API promise here; ``gort``, ``gort.time`` and ``gort.sync`` use only the
names in ``__all__``.

Layers (imports point down only)::

    rt0, fork                         bootstrap: run, implicit start, services, exit, fork
    sysmon, preempt, signal_unix      preemption (L3')
    sigqueue                          the program's signal handlers, os/signal (L3')
    mfinal, chan, select, sema, time, syscall, poll_runtime   finalizers, blocking primitives (L3)
    threadlock                        goroutine-aware threading locks (L3)
    cgocall                           calls from other threads, run on the M
    proc                              the scheduler (L2)
    g, m, p, sched, timers, netpoll, traceback, abandon   types (L1)
    error, debug, lock_futex          (L0)

proc reaches up once, lazily, to rt0.implicit_start (Go's proc.go starts
sysmon from runtime.main the same way).

Ownership, kept true:
- only proc.py switches greenlets, except the preemption hook, which calls
  proc.gopreempt_m;
- blocking is ``gopark`` answered by exactly one ``goready``; sync/ blocks
  only through sema.py;
- only signal_unix.py (SIGURG, SIGQUIT) and sigqueue.py (the program's handlers,
  the wake-up fd, and the patched ``signal.signal``/``getsignal``/``set_wakeup_fd``
  during a run) touch ``signal.*``; threads are started by sysmon.py
  (sysmon) and syscall.py (offload workers); only debug.py reads GODEBUG and
  GOMAXPROCS;
- all mutable state hangs off one ``Sched`` (sched.py), dropped at teardown;
  the one exception, threadlock's patches of ``threading``/``_thread``/
  ``importlib``/``io``, made once when ``gort`` is imported, stays for the process's
  life (outside a run the patched locks behave as plain ones);
- the runtime's own locks and sysmon's note are CPython's raw ones
  (lock_futex.py), never the patched, goroutine-aware ones.
"""

from __future__ import annotations

from .cgocall import cgocallback, on_m
from .chan import Chan
from .error import ClosedChannelError, Deadlock, Finalizing, GortInternalError, NotInGoroutine
from .g import G, Gstatus, WaitReason
from .preempt import user_code_boundary
from .proc import (
    current_sched,
    getg,
    gopark,
    gopreempt_m,
    goraise,
    goready,
    gosched,
    newproc,
    no_goroutine_left,
    procresize,
    running,
)
from .rt0 import (
    PreemptionWarning,
    crash_if_asked,
    exit_report,
    report_exit,
    report_hook,
    run,
    run_module,
    run_path,
)
from .select import default, selectgo
from .sema import Sema
from .syscall import OffloadLimit, offload
from .time import Backoff, reset_timer, start_timer, stop_timer, time_sleep, to_ns
from .timers import Timer
from .traceback import goroutine_dump, panic_block, panic_lines

__all__ = [
    "Backoff",
    "Chan",
    "ClosedChannelError",
    "Deadlock",
    "Finalizing",
    "G",
    "GortInternalError",
    "Gstatus",
    "NotInGoroutine",
    "OffloadLimit",
    "PreemptionWarning",
    "Sema",
    "Timer",
    "WaitReason",
    "cgocallback",
    "crash_if_asked",
    "current_sched",
    "default",
    "exit_report",
    "getg",
    "gopark",
    "gopreempt_m",
    "goraise",
    "goready",
    "goroutine_dump",
    "gosched",
    "newproc",
    "no_goroutine_left",
    "offload",
    "on_m",
    "panic_block",
    "panic_lines",
    "procresize",
    "report_exit",
    "report_hook",
    "reset_timer",
    "run",
    "run_module",
    "run_path",
    "running",
    "selectgo",
    "start_timer",
    "stop_timer",
    "time_sleep",
    "to_ns",
    "user_code_boundary",
]
