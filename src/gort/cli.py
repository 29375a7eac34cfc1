"""``gort run PROG.py [ARGS...]``: run a script's top level as the main goroutine.

Exit status, as a Go program's: 0 when main returns; 2 after an uncaught
exception in any goroutine (Go-style report on stderr) or a deadlock; 130 on
Ctrl-C; ``sys.exit(n)`` from any goroutine exits with n.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import NoReturn

from . import runtime as _rt

_DESCRIPTION = """\
gort: Go's runtime for Python. Goroutines on a G-M-P scheduler, with sysmon
and signal-based asynchronous preemption.

Environment: GOMAXPROCS=N (number of Ps); GODEBUG=asyncpreemptoff=1 (no
preemption signals), schedtrace=MS, scheddetail=1; GORT_PREEMPT_NS (time
slice, default 10000000); GORT_NOPREEMPT=mod1,mod2 (more modules never
preempted inside); GORT_SEED=N (select's random seed).
"""

_RUN_HELP = """\
Run PROG.py's top level as goroutine 1 (sys.argv is [PROG.py, ARGS...]).
Exit status: 0 when the script ends; 2 on an uncaught exception in any
goroutine ("panic: ..." report on stderr) or on deadlock; 130 on Ctrl-C.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gort", description=_DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run a Python script as the main goroutine",
                       description=_RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("prog", metavar="PROG.py", help="the script to run")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="arguments passed to the script")
    return p


def _fail(msg: str) -> NoReturn:
    print(f"gort: {msg}", file=sys.stderr)
    raise SystemExit(2)


def panic_report(exc: BaseException) -> str:
    """Go's panic report: ``panic: ...``, the goroutine header, the Python traceback."""
    goid = 0
    for note in getattr(exc, "__notes__", ()):
        if note.startswith("gort: uncaught in goroutine "):
            goid = int(note.rsplit(" ", 1)[1])
    head = f"panic: {type(exc).__name__}: {exc}" if str(exc) else f"panic: {type(exc).__name__}"
    tb = "".join(traceback.format_exception(exc))
    return f"{head}\n\ngoroutine {goid} [running]:\n{tb}"


def run_script(prog: str, args: list[str]) -> int:
    """Run PROG under gort; return the exit status."""
    try:
        with open(prog, "rb"):
            pass
    except OSError as e:
        _fail(f"cannot run {prog}: {e.strerror or e}")
    sys.argv = [prog, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(prog)))
    try:
        _rt.run(_rt.run_path, (prog,), {})
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("signal: interrupt", file=sys.stderr)
        return 130
    except _rt.Deadlock as e:
        print(f"fatal error: {e}\n\n{e.goroutines}", file=sys.stderr)
        return 2
    except BaseException as e:
        sys.stderr.write(panic_report(e))
        return 2
    finally:
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``gort`` command."""
    ns = _parser().parse_args(argv)
    if ns.command != "run":
        _parser().print_help(sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_script(ns.prog, ns.args))
