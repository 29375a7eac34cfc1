"""Starting and ending a run (Go: rt0_go, schedinit, runtime.main, and exit).

``run`` is ``gort.run``: build the Sched on the calling thread (it becomes
M0), start the services (signals, sysmon), run ``main`` as goroutine 1, and
tear everything down when main returns, a goroutine panics, or the run
deadlocks. ``implicit_start`` does the same with the calling code (a script's
top level on the main thread) as goroutine 1, ending at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextvars
import runpy
import sys
import threading
import warnings
from collections.abc import Callable
from time import monotonic_ns
from typing import Any

from greenlet import getcurrent

from . import proc, threadlock
from . import sched as _sched
from .g import G, Gstatus
from .preempt import Preempter
from .sched import Sched
from .signal_unix import QuitDump, Signals
from .sigqueue import SigQueue
from .stack import Stack
from .sysmon import Sysmon


class PreemptionWarning(RuntimeWarning):
    """Asynchronous preemption is not available for this run (see the message)."""


def run_path(path: str) -> Any:
    """Run a script's top level as the main goroutine (for ``gort run``)."""
    return runpy.run_path(path, run_name="__main__")


def run_module(name: str) -> Any:
    """Run a module as ``__main__`` in the main goroutine (for ``gort run -m``)."""
    return runpy.run_module(name, run_name="__main__", alter_sys=True)


def start_services(s: Sched) -> None:
    """Start what a run needs besides the scheduler: signals, the program's handlers,
    sysmon, goroutine-aware locks."""
    stack = Stack()
    preempter = Preempter(s, (proc.gmain.__code__, run_path.__code__, run_module.__code__,
                              run_hosted.__code__), stack)
    s.preempter = preempter
    s.tracing = stack.tracing
    signals: Signals | None = None
    if stack.error and not s.debug.asyncpreemptoff:
        warnings.warn(
            f"gort: {stack.error}; gort cannot tell when C code sits between a goroutine's "
            "Python frames, where a switch is unsafe, so this run uses synchronous "
            "preemption only (a goroutine that never calls gort is not preempted). "
            "Supported: CPython 3.11-3.13, 64-bit release builds.",
            PreemptionWarning,
            stacklevel=4,
        )
    elif not s.debug.asyncpreemptoff:
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
    quit_ = QuitDump(s)
    quit_.install()
    s.closers.append(quit_.close)
    sigs = SigQueue(s, preempter, signals, quit_)
    if sigs.install():
        s.sigqueue = sigs
        # Closed last: the program's handlers come back after every other service stopped.
        s.closers.insert(0, sigs.close)
    mon = Sysmon(s, signals)
    s.sysmon = mon
    mon.start()
    s.closers.append(mon.stop)
    # Last, so the services' own threads and events are plain ones; first undone.
    threadlock.install(s)


def run(main: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
        script: bool = False,
        contain: Callable[[BaseException], None] | None = None) -> Any:
    """gort.run: main as goroutine 1 on this thread; return its value or raise.

    ``script``: the run is `gort run`'s, for a script whose own top-level
    ``gort.run(main)`` then runs main as the program's main goroutine.
    ``contain``: a panic in another goroutine is passed to it, and a
    deadlock raised in main, rather than ending the run (gort's pytest plugin).
    """
    if not callable(main):
        raise TypeError(f"gort.run: {main!r} is not callable; pass the function itself, "
                        "e.g. gort.run(main), not gort.run(main())")
    cur = _sched.current
    if (cur is not None and cur.script and cur.hosted == 0
            and cur.m0.tid == threading.get_ident() and cur.main_g is not None
            and cur.m0.curg is cur.main_g):
        return run_hosted(cur, main, args, kwargs)
    s = proc.schedinit(getcurrent())
    s.script = script
    s.contain = contain
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


def run_hosted(s: Sched, main: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    """A script's ``gort.run(main)`` under `gort run`: main runs as the main goroutine.

    The script is already goroutine 1 of the program `gort run` started, so
    main is called right there (no second runtime), with a copy of the
    caller's contextvars context, as gort.run gives it anywhere else.
    """
    me = getcurrent()
    saved = me.gr_context
    me.gr_context = contextvars.copy_context()
    s.hosted += 1
    try:
        return main(*args, **kwargs)
    finally:
        s.hosted -= 1
        me.gr_context = saved


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
