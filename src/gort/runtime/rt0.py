"""Starting and ending a run (Go: rt0_go, schedinit, runtime.main, and exit).

``run`` is ``gort.run``: build the Sched on the calling thread (it becomes
M0), start the services (signals, sysmon), run ``main`` as goroutine 1, and
tear everything down when main returns, a goroutine panics, or the run
deadlocks. ``implicit_start`` does the same with the calling code (a script's
top level on the main thread) as goroutine 1, ending at interpreter exit.
"""

from __future__ import annotations

import atexit
import functools
import runpy
import sys
import warnings
from collections.abc import Callable
from time import monotonic_ns
from typing import Any

from greenlet import getcurrent

from . import proc, schedcheck
from . import sched as _sched
from .g import G, Gstatus
from .mfinal import Finq
from .preempt import Preempter
from .sched import Sched
from .signal_unix import QuitDump, Signals
from .sysmon import Sysmon


class PreemptionWarning(RuntimeWarning):
    """Asynchronous preemption is not available for this run (see the message)."""


def run_path(path: str) -> Any:
    """Run a script's top level as the main goroutine (for ``gort run``)."""
    return runpy.run_path(path, run_name="__main__")


def start_services(s: Sched) -> None:
    """Start what a run needs besides the scheduler: signals and sysmon."""
    preempter = Preempter(s, (proc.gmain.__code__, run_path.__code__))
    signals: Signals | None = None
    if not s.debug.asyncpreemptoff:
        signals = Signals(s, preempter)
        if signals.install():
            preempter.start()
            s.closers.append(preempter.close)
            s.closers.append(signals.close)
        else:
            signals = None
            warnings.warn(
                "gort: asynchronous preemption needs the main thread (CPython runs signal "
                "handlers only there); this run uses synchronous preemption only, so a "
                "goroutine that never calls gort will not be preempted. Call gort.run from "
                "the main thread to get it.",
                PreemptionWarning,
                stacklevel=4,
            )
    Finq(s).start()  # automatic collection moves to the finalizer goroutine
    level = max(s.debug.gortcheck, schedcheck.enabled)
    if level:
        s.schedcheck = functools.partial(schedcheck.schedcheck, thorough=level > 1)
    quit_ = QuitDump(s)
    quit_.install()
    s.closers.append(quit_.close)
    mon = Sysmon(s, signals)
    s.sysmon = mon
    mon.start()
    s.closers.append(mon.stop)


def run(main: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """gort.run: main as goroutine 1 on this thread; return its value or raise."""
    if not callable(main):
        raise TypeError(f"gort.run: {main!r} is not callable; pass the function itself, "
                        "e.g. gort.run(main), not gort.run(main())")
    s = proc.schedinit(getcurrent())
    try:
        start_services(s)
        kind, value = proc.start_main(s, main, args, kwargs)
    finally:
        mon = s.sysmon
        proc.teardown(s)
    if mon is not None and mon.failure is not None:
        raise mon.failure
    if kind == "raise":
        raise value
    return value


def implicit_start() -> G:
    """Start a runtime with the calling code as goroutine 1 (main thread only)."""
    s = proc.schedinit(None)
    gp = G()
    s.allgs[gp] = None
    s.goidgen = 1
    gp.goid = 1
    gp.gr = getcurrent()
    gp.is_main = True
    gp.m = s.m0
    gp.status = Gstatus.RUNNING
    s.gcount = 1
    s.stats.goroutines_created = 1
    s.main_g = gp
    s.m0.curg = gp
    pp = s.m0.p
    assert pp is not None
    pp.schedtick += 1
    pp.schedwhen = monotonic_ns()
    try:
        start_services(s)
    except BaseException:
        proc.teardown(s, keep=(gp.gr,))
        raise
    atexit.register(_atexit_teardown, s)
    s.closers.insert(0, lambda: atexit.unregister(_atexit_teardown))
    return gp


def _atexit_teardown(s: Sched) -> None:
    if _sched.current is s:
        proc.teardown(s, keep=(getcurrent(),))
        mon = s.sysmon
        if mon is not None and mon.failure is not None:
            print(f"gort: sysmon failed: {mon.failure!r}", file=sys.stderr)
