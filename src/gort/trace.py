"""Execution traces (Go: package runtime/trace).

``gort.trace.start("out.json")`` ... ``gort.trace.stop()`` records what the
scheduler does in between (goroutine slices per P, blocking and unblocking
with wait reasons, preemption requests and outcomes, sysmon wake-ups,
offloaded calls) in Chrome's trace-event JSON, which Perfetto UI and
``chrome://tracing`` open, and ``gort trace out.json -o out.html`` draws as a
self-contained page. ``gort run --trace out.json PROG.py`` traces a whole
program. A trace still on when the run ends is written then.
"""

from __future__ import annotations

import os
from time import monotonic_ns
from typing import IO

from . import runtime as _rt
from .runtime.trace import Tracer

__all__ = ["start", "stop"]


def start(out: str | os.PathLike[str] | IO[str]) -> None:
    """Start tracing the running program; the trace goes to ``out`` (a path or a text file)."""
    gp = _rt.getg()
    s = _rt.running()
    assert s is not None
    if s.tracer is not None:
        raise RuntimeError("gort.trace.start: tracing is already enabled; "
                           "call gort.trace.stop() first")
    tr = Tracer(out)
    pp = s.m0.p
    assert pp is not None
    tr.nprocs = len(s.allp)
    tr.go_start(pp, gp, monotonic_ns())
    s.tracer = tr


def stop() -> None:
    """Stop tracing and write the trace."""
    s = _rt.current_sched()
    tr = s.tracer
    if tr is None:
        raise RuntimeError("gort.trace.stop: tracing is not enabled; call gort.trace.start first")
    s.tracer = None
    tr.write()
