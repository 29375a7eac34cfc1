"""Starting and ending a run (Go: rt0_go, schedinit, runtime.main, and exit).

``run`` is ``gort.run``: build the Sched on the calling thread (it becomes
M0), start the services (signals, sysmon), run ``main`` as goroutine 1, and
tear everything down when main returns, a goroutine panics, or the run
deadlocks. ``implicit_start`` does the same with the calling code (a script's
top level on the main thread) as goroutine 1, ending at interpreter exit.

How a program ends is one table, ``exit_report`` (Go's exit statuses): ``gort
run`` prints and returns what it says, and the implicit runtime does the same
when any goroutine ends the program (``implicit_end``, the implicit run's
``host``): a panic, a deadlock, ``sys.exit`` or Ctrl-C in a goroutine, or an
uncaught exception at the script's top level (``sys.excepthook``). The
implicit main goroutine is the interpreter's own main greenlet, where the
script's top level runs. ``implicit_end`` reports, releases the abandoned
goroutines as gort.run's return does, and then ends the process the way
``gort run``'s does: by the interpreter's own exit, a ``SystemExit(status)``
raised in the main greenlet. Unwound as it is, the script would run its
handlers (a ``try:`` could even stop the exit), so it is first made to unwind
as reap releases an abandoned goroutine (``abandon.quiet_unwind``: every frame
inside a try/with block, and every generator its frames alone keep, runs a
handler-free copy of its code): no handler of the script runs, then CPython
joins the non-daemon threads, runs the atexit callbacks, flushes stdio and
finalizes the script's objects, exactly as after `gort run` (whose script
goroutine is released the same way). The exception is raised out of the
ender greenlet, which dies: a ``throw()`` into main held it (and through its
traceback the script's globals) in the ender's suspended call, and nothing
was finalized. When main cannot unwind so (C code that would swallow the
exception between two of its frames, a child greenlet) ``exit_process``
does what the interpreter's exit does (threads, atexit, stdio) and then
``os._exit``, finalizing nothing. An exception at the script's top level
reaches ``sys.excepthook``, which raises ``SystemExit(2)`` after the report:
CPython then exits from inside its hook call, with the exception still held,
so the script's globals are not finalized there (CPython's own behaviour for
a hook that exits; `gort run` finalizes them).
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import os
import runpy
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from time import monotonic_ns
from types import TracebackType
from typing import Any, NoReturn

from greenlet import getcurrent, greenlet

from . import abandon, aio, fork, proc, schedcheck, threadlock
from . import sched as _sched
from .error import Deadlock, Finalizing
from .g import G, Gstatus
from .mfinal import Finq
from .preempt import Preempter
from .sched import Sched
from .signal_unix import QuitDump, Signals
from .sigqueue import SigQueue, report_unraisable
from .stack import Stack
from .sysmon import Sysmon
from .traceback import deadlock_report, panic_report


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
    sysmon, goroutine-aware locks, the fork handlers."""
    fork.install()
    stack = Stack()
    preempter = Preempter(s, (proc.gmain.__code__, run_path.__code__, run_module.__code__,
                              run_hosted.__code__), stack)
    s.preempter = preempter
    s.tracing = stack.tracing
    s.depth_left = stack.depth_left
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
            if not preempter.start():
                warnings.warn(
                    "gort: sys.monitoring tool ids 3 and 4 are both taken, and gort needs "
                    "one for its preemption hook (after a signal lands inside a C call); a "
                    "goroutine that spends its time in C calls (time.sleep, I/O, a C "
                    "extension) is then preempted only at its gort calls. Free one of them "
                    "before the run.",
                    PreemptionWarning,
                    stacklevel=4,
                )
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
    sigs = SigQueue(s, preempter, signals, quit_)
    if sigs.install():
        s.sigqueue = sigs
        # Closed last: the program's handlers come back after every other service stopped.
        s.closers.insert(0, sigs.close)
    mon = Sysmon(s, signals)
    s.sysmon = mon
    mon.start()
    s.closers.append(mon.stop)
    threadlock.install(s)
    aio.install(s)


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
    if abandon.reaping:
        # reap is not reentrant (its lists would be walked twice), and the run's host
        # would be a goroutine being unwound.
        raise Finalizing(
            "gort: gort.run called from a finalizer while gort releases the goroutines an "
            "earlier run abandoned; a run cannot start there. Start it after gort.run "
            "returns (or hand the finalizer's work to a channel another run receives from)")
    proc.finish_teardown()
    abandon.reap()  # what earlier runs on this thread abandoned
    host = getcurrent()
    claim: list[Sched | None] = [None]
    s: Sched | None = None
    me = threading.get_ident()
    kind, value = "", None
    try:
        try:
            proc.starting.add(me)  # inside: an exception as add returns still discards
            s = proc.schedinit(host, claim)
            s.script = script
            s.contain = contain
            start_services(s)
        finally:
            proc.starting.discard(me)
        kind, value = proc.start_main(s, main, args, kwargs)
    finally:
        if s is None:
            s = claim[0]  # interrupted as schedinit returned (no call: see schedinit)
        mon = s.sysmon if s is not None else None
        if s is not None:
            s.ending = True  # no call since the finally began: see proc.finish_teardown
            try:
                proc.teardown(s)
                abandon.reap(abandon.REAP_AT_RETURN)
            except BaseException as e:
                # A signal handler's exception (Ctrl-C) as the run ends. After a return
                # it is what the program gets; after the run's own exception it must not
                # take that one's place (the panic's report was lost): reported instead.
                if kind == "return":
                    raise
                report_unraisable(e, "Exception ignored in gort.run's end (the run had "
                                  "already ended with an exception, raised now)")
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
    abandon.reap()
    gp = G()
    gp.gr = getcurrent()
    claim: list[Sched | None] = [None]
    s: Sched | None = None
    try:
        s = proc.schedinit(None, claim)
        _implicit_setup(s, gp)
    except BaseException:
        # Ctrl-C may land anywhere here, even as schedinit returns: a runtime left
        # registered half-built failed every later gort call ("outside any goroutine").
        if s is None:
            s = claim[0]  # no call: see schedinit
        if s is not None:
            proc.teardown(s, keep=(gp.gr,))
        raise
    return gp


def _implicit_setup(s: Sched, gp: G) -> None:
    s.allgs[gp] = None
    s.goidgen = 1
    gp.goid = 1
    gp.is_main = True
    gp.m = s.m0
    gp.status = Gstatus.RUNNING
    s.gcount = 1
    s.stats.goroutines_created = 1
    s.main_g = s.thread_g = gp
    s.ender = greenlet(functools.partial(implicit_end, s), parent=gp.gr)
    pp = s.m0.p
    assert pp is not None
    pp.schedtick += 1
    pp.schedwhen = monotonic_ns()
    s.closers.insert(0, lambda: atexit.unregister(_atexit_teardown))
    atexit.register(_atexit_teardown, s)
    global _implicit_hook
    prev_hook = sys.excepthook
    hook = functools.partial(_implicit_excepthook, s, prev_hook)

    def restore_hook() -> None:
        if sys.excepthook is hook:
            sys.excepthook = prev_hook

    s.closers.insert(0, restore_hook)
    sys.excepthook = _implicit_hook = hook
    start_services(s)
    # Last: from here on gort calls see a running goroutine (before, a signal handler run
    # inside start_services parked the half-started main goroutine: proc.starting).
    s.m0.curg = gp


def _atexit_teardown(s: Sched) -> None:
    """The script's top level ended (returned, or raised to sys.excepthook): end the run
    as gort.run's return does, before the interpreter finalizes."""
    if _sched.current is s:
        assert s.main_g is not None
        proc.teardown(s, keep=(s.main_g.gr,))
        # As gort.run's return: release what fits in its bound, so that the abandoned
        # goroutines' frames stop holding the script's globals (whose objects then get
        # their finalizers at exit, as under `gort run`; before, none ran).
        abandon.reap(abandon.REAP_AT_RETURN)
        mon = s.sysmon
        if mon is not None and mon.failure is not None:
            print(f"gort: sysmon failed: {mon.failure!r}", file=sys.stderr)
    if isinstance(getattr(sys, "last_value", None), KeyboardInterrupt):
        # Ctrl-C ended the script (its hook, or ours, reported it): CPython finalizes,
        # then exits by SIGINT (status -2); `gort run` exits 130.
        exit_130_after_finalizing()


def exit_130_after_finalizing() -> None:
    """Make the interpreter's exit after an uncaught KeyboardInterrupt status 130 (Go's,
    and `gort run`'s) instead of death by SIGINT, finalizing as usual: CPython's
    exit_sigint kills the process with SIGINT and returns 128 + SIGINT when that did not
    end it (Modules/main.c), so SIGINT is blocked in this (the main) thread."""
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (OSError, ValueError, AttributeError):  # no signal masks here: Python's way
        pass


implicit_exits = True
"""Whether the implicit runtime's end exits the process, as a script's does. gort's
pytest plugin sets it False: there the exception is raised in the test's code (the main
goroutine) instead, so that a test's failure does not end pytest."""


def implicit_end(s: Sched, how: tuple[str, Any]) -> NoReturn:
    """The implicit runtime's host: end the process as ``gort run`` would (see the essay).

    Switched to (once) by proc.main_return or proc.end_with with ("return",
    value) or ("raise", exc).
    """
    kind, value = how
    main_g = s.main_g
    assert main_g is not None
    assert main_g.gr is not None
    try:
        proc.teardown(s, keep=(main_g.gr,))
    except BaseException as e:  # a signal handler's (Ctrl-C), as gort.run's end treats it
        if kind == "return":
            kind, value = "raise", e
        else:
            report_unraisable(e, "Exception ignored at the program's end (it had already "
                              "ended with an exception, reported below)")
    if not implicit_exits:
        main_g.gr.throw(value if kind == "raise" else SystemExit(0))
    status = report_exit(value if kind == "raise" else None)
    if kind == "raise":
        crash_if_asked(value)
    # As gort.run's return: release what fits in its bound (their frames then stop
    # holding the script's objects, finalized at exit as under `gort run`).
    try:
        abandon.reap(abandon.REAP_AT_RETURN)
    except BaseException as e:  # a held signal's handler raised: the status is decided
        report_unraisable(e, "Exception ignored at the program's end (after its report)")
    if abandon.quiet_unwind(main_g.gr, main_g.resume):
        # The interpreter's own exit, as `gort run`'s SystemExit: the script unwinds
        # running none of its handlers (they are stripped, as reap strips an abandoned
        # goroutine's), then CPython joins the threads, runs atexit, finalizes, exits.
        # While it unwinds, this is teardown releasing an abandoned goroutine (a
        # finalizer's gort call gets Finalizing, the scheduler's switch lets it through),
        # as reap releases the script's goroutine under `gort run`; over at exit.
        abandon.reaping = True
        atexit.register(_unwound)  # runs first: callbacks run last registered first
        # Raised out of this greenlet, which dies: greenlet raises it in the parent, the
        # main greenlet, where it waits. (A throw() into main held the exception, so its
        # traceback's frames and the script's globals, from this greenlet's suspended
        # call for good: nothing of the script was finalized at exit.)
        raise SystemExit(status)
    exit_process(status)  # main cannot unwind quietly (C code that swallows between frames)


def _unwound() -> None:
    abandon.reaping = False


def _implicit_excepthook(s: Sched, prev: Callable[..., Any], tp: type[BaseException],
                         value: BaseException, tb: TracebackType | None) -> None:
    """sys.excepthook while the implicit runtime runs: the script's top level raised.

    That is goroutine 1 panicking: the same report and status as ``gort run``.
    Left to the previous hook in an interactive session, where the
    interpreter goes on after an exception.
    """
    global _hooked
    if value is _ending and prev is sys.__excepthook__:
        # The program's hook chained to this one at the end (report_exit): gort's report.
        report_hook(tp, value, tb)
        return
    main_g = s.main_g
    if (_sched.current is s and not s.closing and main_g is not None and implicit_exits
            and getcurrent() is main_g.gr and not sys.flags.interactive
            and not hasattr(sys, "ps1")):
        if sys.excepthook is not _implicit_hook:
            # The program's hook replaced this one, ran, and chained here: the report
            # is gort's, and report_exit must not call that hook again.
            _hooked = value
        if isinstance(value, KeyboardInterrupt):
            # Ctrl-C: the top level has unwound already; report as `gort run` does (the
            # program's hook, or "signal: interrupt"), then let the interpreter finalize
            # (the atexit teardown ends the run) and exit 130.
            report_exit(value)
            exit_130_after_finalizing()
            return
        proc.fatal(s, main_g, value)
    prev(tp, value, tb)


def exit_report(exc: BaseException | None) -> tuple[int, str]:
    """How a program that ended with exc (None: main returned) exits: (status, stderr text).

    Go's statuses: 0 when main returns; ``sys.exit(n)``: n (a non-int code is
    printed, status 1, as CPython does); Ctrl-C: ``signal: interrupt`` and
    130; a deadlock: Go's ``fatal error`` report and 2; any other uncaught
    exception: the panic report and 2.
    """
    if exc is None:
        return 0, ""
    if isinstance(exc, SystemExit):
        if exc.code is None:
            return 0, ""
        if isinstance(exc.code, int):
            return exc.code, ""
        return 1, f"{exc.code}\n"
    if isinstance(exc, KeyboardInterrupt):
        return 130, "signal: interrupt\n"
    if isinstance(exc, Deadlock):
        return 2, deadlock_report(exc)
    return 2, panic_report(exc)


# The exception a program ended with while report_exit hands it to the program's
# sys.excepthook: a hook that chains to gort's (report_hook, or the implicit runtime's)
# gets the Go-style report for it.
_ending: BaseException | None = None
# The exception the program's hook has already seen (it chained to the implicit runtime's).
_hooked: BaseException | None = None
_implicit_hook: Any = None


def report_hook(tp: type[BaseException], value: BaseException,
                tb: TracebackType | None) -> None:
    """gort's sys.excepthook: the Go-style report (``exit_report``) for the exception
    a program run by gort ended with; CPython's default hook for any other.

    Installed when gort is imported, if the hook is CPython's default then, so
    that a hook the program installs later (a crash reporter) and that chains
    to the one it replaced prints gort's report after its own work.
    """
    if value is not _ending:
        sys.__excepthook__(tp, value, tb)
        return
    _flush(sys.stdout)
    sys.stderr.write(exit_report(value)[1])


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = report_hook


def program_excepthook() -> Callable[..., Any] | None:
    """The sys.excepthook the program installed, or None if it is a default one
    (CPython's, gort's report_hook, the implicit runtime's wrapper, which stands for
    the hook it wrapped)."""
    hook: Any = sys.excepthook
    for _ in range(8):  # unwrap gort's own wrappers (at most two, nested)
        if isinstance(hook, functools.partial) and hook.func is _implicit_excepthook:
            hook = hook.args[1]
        else:
            break
    if hook is None or hook is sys.__excepthook__ or hook is report_hook:
        return None
    return hook  # type: ignore[no-any-return]


def report_exit(exc: BaseException | None) -> int:
    """Report how the program ended (stdout flushed first) and return its exit status.

    The run is over, so the program's own signal handlers run raw again: one that
    raises while the report is written (a second Ctrl-C) has its exception reported as
    ignored, and the status stays the program's end's (it was "Error in
    sys.excepthook" and status 1 in plain python). The report: ``_report_exit``.
    """
    try:
        return _report_exit(exc)
    except BaseException as e:
        report_unraisable(e, "Exception ignored while the program's end was reported")
        return exit_report(exc)[0]


def _report_exit(exc: BaseException | None) -> int:
    """report_exit's report, and the status.

    The status is Go's (``exit_report``). The text: for an uncaught exception
    (a panic in any goroutine, a deadlock, Ctrl-C; not ``sys.exit``) the
    program's own ``sys.excepthook``, if it installed one, is called with it
    instead of printing gort's report, as CPython calls it for the exception
    that ends a program; a hook that chains to the hook it replaced gets
    gort's report there. A hook that raises is reported as CPython reports it
    ("Error in sys.excepthook:"), followed by gort's report.
    """
    global _ending
    status, text = exit_report(exc)
    _flush(sys.stdout)
    hook = program_excepthook() if exc is not None and not isinstance(exc, SystemExit) \
        and exc is not _hooked else None
    if hook is not None:
        assert exc is not None
        _ending = exc
        try:
            hook(type(exc), exc, exc.__traceback__)
            text = ""
        except BaseException as e:
            tb = e.__traceback__  # from the hook's frame on, as CPython prints it
            text = ("Error in sys.excepthook:\n"
                    + "".join(traceback.format_exception(
                        type(e), e, tb.tb_next if tb is not None else None))
                    + "\nOriginal exception was:\n" + text)
        finally:
            _ending = None
            _flush(sys.stdout)
    if text:
        try:
            sys.stderr.write(text)
        except (OSError, ValueError):
            pass
    return status


def crash_if_asked(exc: BaseException) -> None:
    """GOTRACEBACK=crash: end as Go does, in the OS's way (SIGABRT, a core dump if allowed)."""
    if getattr(exc, "__gort_traceback__", "") == "crash":
        _flush(sys.stdout)
        _flush(sys.stderr)
        os.abort()


def exit_process(status: int) -> NoReturn:
    """Exit as the interpreter's own exit does, but without unwinding any goroutine.

    Waits for non-daemon threads, runs the atexit callbacks, flushes stdio,
    then ``os._exit(status)``.
    """
    try:
        try:
            threading._shutdown()  # type: ignore[attr-defined]
        except BaseException as e:
            # A signal handler's exception (Ctrl-C) while the threads are joined: the
            # program has already ended, with its status; go on exiting, as CPython does
            # when its own thread join at exit is interrupted. Raised on, it reached the
            # abandoned script, whose code then ran on and exited 0.
            _ignored(e, "joining threads at exit")
        try:
            atexit._run_exitfuncs()
        except BaseException as e:  # the same, between two atexit callbacks
            _ignored(e, "running atexit callbacks")
        _flush(sys.stdout)
        _flush(sys.stderr)
    finally:
        os._exit(status)


def _ignored(exc: BaseException, where: str) -> None:
    try:
        sys.stderr.write(f"Exception ignored while {where}:\n"
                         + "".join(traceback.format_exception(exc)))
    except BaseException:  # nothing more can be reported; exiting matters
        pass


def _flush(f: Any) -> None:
    try:
        f.flush()
    except (OSError, ValueError, AttributeError):
        pass  # closed, or a broken pipe: nothing more can be written
