"""The ``gort`` command: ``gort run [--trace OUT.json] PROG.py|-m MODULE [ARGS]``, ``gort trace``.

``gort run`` runs a script's top level (or a module, as ``python -m``) as the
main goroutine. A ``gort.run(main)`` made by that program runs ``main`` as the
main goroutine and returns its value, so programs written for
``python prog.py`` (``gort.run(main)`` at the bottom) run unchanged.

Exit status, as a Go program's: 0 when main returns; 2 after an uncaught
exception in any goroutine (Go-style report on stderr) or a deadlock; 130 on
Ctrl-C; ``sys.exit(n)`` from any goroutine exits with n.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import NoReturn

from . import cmd_trace
from . import runtime as _rt
from . import trace as gort_trace
from .runtime import debug as _debug

_DESCRIPTION = """\
gort: Go's runtime for Python. Goroutines on a G-M-P scheduler, with sysmon
and signal-based asynchronous preemption.

Environment: GOMAXPROCS=N (number of Ps); GODEBUG=asyncpreemptoff=1 (no
preemption signals), schedtrace=MS, scheddetail=1; GORT_PREEMPT_NS (time
slice, default 10000000); GORT_NOPREEMPT=mod1,mod2 (more modules never
preempted inside); GORT_SEED=N (select's random seed).
"""

_RUN_HELP = """\
Run PROG.py's top level as goroutine 1 (sys.argv is [PROG.py, ARGS...]), or,
with -m MODULE, the module as `python -m` would. A gort.run(main) made by the
program runs main as goroutine 1 and returns its value. With --net, the
stdlib's sockets, ssl, select/selectors, DNS and time.sleep are patched
first (gort.patch.net), so http.client, urllib, requests, smtplib, redis-py
and socketserver park goroutines instead of the thread.
Exit status: 0 when the script ends; 2 on an uncaught exception in any
goroutine ("panic: ..." report on stderr) or on deadlock; 130 on Ctrl-C.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gort", description=_DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print gort's version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run a Python script as the main goroutine",
                       description=_RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--trace", metavar="OUT.json",
                   help="record an execution trace (Chrome trace-event JSON) to OUT.json")
    r.add_argument("--net", action="store_true",
                   help="patch the stdlib's network surface first (gort.patch.net): "
                        "sockets, ssl, select, selectors, DNS and time.sleep park goroutines")
    r.add_argument("-m", dest="module", metavar="MODULE",
                   help="run a module as __main__, as python -m does")
    r.add_argument("prog", metavar="PROG.py", nargs="?", help="the script to run")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="arguments passed to the script")
    t = sub.add_parser("trace", help="draw an execution trace as a self-contained HTML page",
                       description="Draw TRACE.json (from gort run --trace or gort.trace.start) "
                                   "as one HTML file: a lane per P, goroutine slices, "
                                   "preemptions, and a table with a row per goroutine.")
    t.add_argument("trace", metavar="TRACE.json", help="the trace to draw")
    t.add_argument("-o", "--output", metavar="OUT.html", required=True,
                   help="where to write the page")
    return p


def _version() -> str:
    # Imported here: importlib.metadata pulls in tempfile, zipfile and more, which a
    # program run by `gort run` should import itself, inside its run.
    import importlib.metadata

    try:
        return importlib.metadata.version("gort")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "(not installed)"


def _fail(msg: str) -> NoReturn:
    print(f"gort: {msg}", file=sys.stderr)
    raise SystemExit(2)


def run_script(prog: str, args: list[str], trace: str | None = None,
               module: bool = False, net: bool = False) -> int:
    """Run PROG (a path, or with ``module`` a module name) under gort; return the exit status.

    With ``trace``, an execution trace of the whole run is written there;
    with ``net``, gort.patch.net() runs before PROG imports anything.
    """
    if module:
        sys.argv = [prog, *args]  # runpy sets argv[0] to the module's file
        sys.path.insert(0, os.getcwd())  # as python -m does
    else:
        try:
            with open(prog, "rb"):
                pass
        except OSError as e:
            _fail(f"cannot run {prog}: {e.strerror or e}")
        sys.argv = [prog, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(prog)))

    if trace is not None:
        where = os.path.dirname(os.path.abspath(trace))
        if not os.path.isdir(where) or not os.access(where, os.W_OK):
            _fail(f"--trace {trace}: cannot write there ({where} is not a writable "
                  "directory)")
    try:  # settings errors are usage errors, not the program's panics
        _debug.read_env()
        _debug.initial_gomaxprocs()
        _debug.read_seed()
    except ValueError as e:
        _fail(str(e))
    if net:
        from . import patch

        patch.net()

    def main_goroutine() -> None:
        if trace is not None:
            gort_trace.start(trace)  # written at stop or, whatever happens, at teardown
        if module:
            try:
                found = importlib.util.find_spec(prog) is not None
            except (ImportError, ValueError) as e:
                _fail(f"cannot run -m {prog}: {e}")
            if not found:
                _fail(f"cannot run -m {prog}: no module named {prog!r}")
            _rt.run_module(prog)
        else:
            _rt.run_path(prog)

    try:
        _rt.run(main_goroutine, (), {}, script=True)
        ended: BaseException | None = None
    except BaseException as e:
        ended = e
    status = _rt.report_exit(ended)
    if ended is not None:
        _rt.crash_if_asked(ended)
    return status


def _module_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Split ``run [OPTIONS] -m MODULE ARGS...`` after MODULE: the rest is the module's,
    options included, as ``python -m MODULE ARGS`` has it (argparse took ``--bind`` or
    ``--help`` after the module for gort's own). (argv, None) without ``-m``."""
    if not argv or argv[0] != "run":
        return argv, None
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "-m" and i + 1 < len(argv):
            return argv[:i + 2], argv[i + 2:]
        if a.startswith("-m") and not a.startswith("--"):
            return argv[:i + 1], argv[i + 1:]
        if a == "--trace":
            i += 2
        elif a.startswith("-"):
            i += 1
        else:
            return argv, None  # PROG.py: its arguments are REMAINDER already
    return argv, None


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``gort`` command."""
    argv, module_args = _module_args(sys.argv[1:] if argv is None else list(argv))
    ns = _parser().parse_args(argv)
    if module_args is not None:
        ns.args = module_args
    if ns.version:
        from .runtime.chan import CORE

        print(f"gort {_version()} ({CORE})")
        raise SystemExit(0)
    if ns.command == "run":
        if ns.module is not None:
            args = ([ns.prog] if ns.prog is not None else []) + ns.args
            raise SystemExit(run_script(ns.module, args, ns.trace, module=True, net=ns.net))
        if ns.prog is None:
            _fail("run: a program is required: gort run PROG.py [ARGS...] or "
                  "gort run -m MODULE [ARGS...]")
        raise SystemExit(run_script(ns.prog, ns.args, ns.trace, net=ns.net))
    if ns.command == "trace":
        try:
            raise SystemExit(cmd_trace.main(ns.trace, ns.output))
        except (OSError, ValueError) as e:
            _fail(str(e))
    _parser().print_help(sys.stderr)
    raise SystemExit(2)
