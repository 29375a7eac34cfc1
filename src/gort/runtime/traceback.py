"""Goroutine reports in Go's format (Go: runtime/traceback.go).

One block per goroutine, innermost frame first, as Go prints them (file
lines start with a tab)::

    goroutine 7 [chan receive, 2 minutes]:
    __main__.worker(...)
        /path/prog.py:12
    created by __main__.main in goroutine 1
        /path/prog.py:20

The deadlock report, the panic report, ``gort.stack()`` and the SIGQUIT
dump all use it. Frames of gort's runtime internals, runpy and greenlet are
left out; gort's public calls stay (``gort.sync.waitgroup.WaitGroup.wait``),
as Go shows ``sync.(*WaitGroup).Wait``.
"""

from __future__ import annotations

import os
import sys
import traceback as _tb
from time import monotonic_ns
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from greenlet import getcurrent

from .g import G, Gstatus

if TYPE_CHECKING:
    from .sched import Sched

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_GORT_DIR = os.path.dirname(_RUNTIME_DIR.rstrip(os.sep)) + os.sep
_CLI_FILE = _GORT_DIR + "cli.py"
_HIDDEN_MODULES = ("runpy", "greenlet")


def is_gort_file(filename: str) -> bool:
    """True for gort's own source files."""
    return filename.startswith(_GORT_DIR)


def is_runtime_file(filename: str) -> bool:
    """True for the files of gort's runtime package (this directory)."""
    return filename.startswith(_RUNTIME_DIR)


def _hidden(frame: FrameType) -> bool:
    filename = frame.f_code.co_filename
    if filename.startswith(_RUNTIME_DIR) or filename == _CLI_FILE:
        return True
    mod = frame.f_globals.get("__name__", "")
    return isinstance(mod, str) and mod.split(".", 1)[0] in _HIDDEN_MODULES


def _funcname(frame: FrameType) -> str:
    mod = frame.f_globals.get("__name__", "?")
    return f"{mod}.{frame.f_code.co_qualname}"


def creator_of(creator: G | None) -> tuple[CodeType, int, str, int] | None:
    """Where a goroutine is being created: (code, instruction offset, module, creator's id).

    Kept raw and formatted only by a report (``created_by``): computing a line
    number and a string for every ``gort.go`` was a third of its cost.
    """
    if creator is None:
        return None
    f: FrameType | None = sys._getframe(3)  # newproc <- gort.go <- the caller, usually
    while f is not None and is_gort_file(f.f_code.co_filename):
        f = f.f_back
    if f is None:
        return None
    return (f.f_code, f.f_lasti, f.f_globals.get("__name__", "?"), creator.goid)


def _line_of(code: CodeType, lasti: int) -> int | None:
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line
    return None


def created_by(gp: G) -> str:
    """Go's "created by f in goroutine N" line and its file:line, or ""."""
    if gp.gopc is None:
        return ""
    code, lasti, mod, goid = gp.gopc
    return (f"created by {mod}.{code.co_qualname} in goroutine {goid}\n"
            f"\t{code.co_filename}:{_line_of(code, lasti)}")


def state_of(gp: G, now: int) -> str:
    """The bracketed state in a goroutine header: Go's words, plus the wait in minutes."""
    st = gp.status
    if st == Gstatus.WAITING:
        text = str(gp.waitreason) or "waiting"
    elif st == Gstatus.SYSCALL:
        text = "syscall"
    else:
        text = st.name.lower()
    if st in (Gstatus.WAITING, Gstatus.SYSCALL) and gp.waitsince:
        minutes = (now - gp.waitsince) // 60_000_000_000
        if minutes >= 1:
            text += f", {minutes} minutes"
    return text


def frame_of(gp: G) -> FrameType | None:
    """The innermost frame of gp's stack (its greenlet's, or ours if gp is running here)."""
    gr = gp.gr
    if gr is None:
        return None
    if gr is getcurrent():
        return sys._getframe(1)
    frame: FrameType | None = gr.gr_frame
    return frame


def _frame_entry(frame: FrameType, lineno: int | None) -> str:
    """One frame as Go prints it: ``pkg.func(...)``, then a tab and file:line."""
    return f"{_funcname(frame)}(...)\n\t{frame.f_code.co_filename}:{lineno}"


def stack_lines(frame: FrameType | None) -> list[str]:
    """Go-style frame entries, innermost first, without gort/runpy/greenlet frames."""
    lines = []
    while frame is not None:
        if not _hidden(frame):
            lines.append(_frame_entry(frame, frame.f_lineno))
        frame = frame.f_back
    return lines


def stack_lines_of(gp: G) -> list[str]:
    """gp's stack as stack_lines. A G stopped inside a child greenlet of its own
    (``G.resume``: a library built on greenlet) shows the child's frames first, then its
    own greenlet's from where it switched into the child (before, only the latter: a
    goroutine preempted in there showed as its function's entry, ``_run(...)``)."""
    lines: list[str] = []
    res = gp.resume
    if res is not None and res is not gp.gr and not res.dead:
        lines = stack_lines(res.gr_frame)
    if gp.gr is not None:
        lines.extend(stack_lines(frame_of(gp)))
    return lines


def system_role(gp: G) -> str:
    """What a system goroutine does, named by its owner's ``role`` (mfinal.Finq, a
    cgocall.Callback); "" for the program's goroutines. Reports name it beside the
    number (SYSTEM_GOID_BASE and up), which the program never saw."""
    if not gp.system:
        return ""
    role = getattr(getattr(gp.fn, "__self__", None), "role", None)
    return role if isinstance(role, str) else "a goroutine of gort's runtime"


def goroutine_header(gp: G, now: int | None = None) -> str:
    """``goroutine 7 [chan receive]:``"""
    return f"goroutine {gp.goid} [{state_of(gp, monotonic_ns() if now is None else now)}]:"


def goroutine_block(gp: G, now: int) -> str:
    """One goroutine: header, stack, creator."""
    parts = [goroutine_header(gp, now)]
    lines = stack_lines_of(gp)
    if not lines and gp.fn is not None:
        # never run, or blocked right inside the runtime: name the function it runs
        fn = gp.fn
        lines = [f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}(...)"]
    parts.extend(lines)
    if gp.gopc is not None:
        parts.append(created_by(gp))
    return "\n".join(parts)


# A run of identical frames longer than this (a RecursionError) is printed once, with a count.
_REPEAT_SHOWN = 3


def _collapse(frames: list[str]) -> list[str]:
    """Fold runs of one repeated frame, as CPython's tracebacks do (never 1000 lines)."""
    out: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        while j < len(frames) and frames[j] == frames[i]:
            j += 1
        run = j - i
        out.extend(frames[i:i + min(run, _REPEAT_SHOWN)])
        if run > _REPEAT_SHOWN:
            out.append(f"...frame repeated {run - _REPEAT_SHOWN} more times...")
        i = j
    return out


def panic_block(gp: G, exc: BaseException, system: bool = False) -> str:
    """The panicking goroutine in the dump's format, its frames taken from exc's traceback.

    ``system`` (GOTRACEBACK=system) keeps gort's own frames and runpy's.
    """
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        f = tb.tb_frame
        if system or not _hidden(f):
            frames.append(_frame_entry(f, tb.tb_lineno))
        tb = tb.tb_next
    parts = [f"goroutine {gp.goid} [running]:", *_collapse(frames[::-1])]
    if gp.gopc is not None:
        parts.append(created_by(gp))
    return "\n".join(parts)


def panic_lines(exc: BaseException) -> str:
    """Go's ``panic:`` lines: the exceptions being handled when exc was raised come first,
    marked ``[recovered]``, each later one indented under it, as Go prints a panic raised
    while another was in progress."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__ if e.__cause__ is not None else (
            None if e.__suppress_context__ else e.__context__)
    lines = []
    for i, e in enumerate(reversed(chain)):
        try:
            msg = str(e)
        except Exception:  # as CPython's own traceback printing says it
            msg = "<exception str() failed>"
        text = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
        tag = " [recovered]" if i < len(chain) - 1 else ""
        lines.append(("\t" if i else "") + f"panic: {text}{tag}")
    return "\n".join(lines)


def panic_report(exc: BaseException) -> str:
    """What Go prints for an unrecovered panic, at the run's GOTRACEBACK level.

    ``panic: ...`` (with the exceptions it was raised while handling, marked
    ``[recovered]`` as Go marks nested panics), then the goroutine's user
    frames as the goroutine dump shows them (all goroutines with ``all``; gort's
    own frames and the full Python traceback with ``system`` and ``crash``;
    none with ``none``), then ``exit status 2``.
    """
    level = getattr(exc, "__gort_traceback__", "single")
    parts = [panic_lines(exc)]
    if level != "none":
        parts.append(getattr(exc, "__gort_panic__", "goroutine ? [running]:"))
        others = getattr(exc, "__gort_others__", "")
        if others:
            parts.append(others)
    if level in ("system", "crash"):
        parts.append("".join(_tb.format_exception(exc)).rstrip("\n"))
    return "\n\n".join(parts) + "\nexit status 2\n"


def deadlock_report(exc: BaseException) -> str:
    """Go's fatal error for a deadlock: the message, every goroutine, ``exit status 2``."""
    dump = getattr(exc, "goroutines", "")
    body = f"fatal error: {exc}" + (f"\n\n{dump}" if dump else "")
    return body + "\nexit status 2\n"


def goroutine_dump(s: Sched, first: G | None = None) -> str:
    """Every live goroutine, separated by blank lines: ``first`` (the caller of
    gort.stack, as Go's runtime.Stack(buf, true) puts the calling goroutine first),
    then the others by number, the main one first."""
    now = monotonic_ns()
    gs = [gp for gp in s.allgs
          if gp.status not in (Gstatus.DEAD, Gstatus.IDLE) and not gp.system]
    gs.sort(key=lambda gp: (gp is not first, gp.goid))
    return "\n\n".join(goroutine_block(gp, now) for gp in gs)
