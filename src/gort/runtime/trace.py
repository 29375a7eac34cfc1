"""The execution tracer (Go: runtime/trace.go), writing Chrome's trace-event JSON.

Perfetto UI and ``chrome://tracing`` open the file; ``gort trace out.json -o
out.html`` draws it without any other tool. What is recorded:

- pid 1 "Ps": one lane per P. A complete event ("X") per goroutine slice,
  named ``G7 worker`` (the viewers colour by name, so by goroutine), with the
  reason it stopped: ``chan receive`` (or any wait reason), ``preempted
  (async)``, ``preempted (sync)``, ``gosched``, ``syscall``, ``exit``.
  Instant events ("i") on the same lane: goroutine creation, unblocking
  (``GoUnblock``), preemption outcomes (``preempt async``, ``preempt
  deferred: logging`` ...).
- pid 2 "Threads": ``sysmon`` (an instant per wake-up, and per preemption
  request with its target) and one lane per offload worker (a complete event
  per offloaded call).

Cost: when tracing is off, the scheduler's hot path tests one attribute
(``sched.tracer is None``) per scheduling round, goready and newproc: four
per channel round trip, 1.4-1.8 % of it (bench/trace_overhead.py), below
run-to-run noise. When on, each event is one tuple appended to a list (from
any thread: list.append is atomic), formatted only when the trace is
written; a ping-pong round trip then costs 2.2-2.9 times as much.
"""

from __future__ import annotations

import json
import os
import threading
from time import monotonic_ns
from typing import IO, Any

from .g import G, Gstatus
from .lock_futex import mutex
from .p import P

_PID_P = 1
_PID_THREADS = 2
_TID_SYSMON = 0


class Tracer:
    """Events of one trace, from start to stop."""

    def __init__(self, out: str | os.PathLike[str] | IO[str]) -> None:
        self.out = out
        self.t0 = monotonic_ns()
        # (ph, name, pid, tid, ts_ns, dur_ns, args) tuples; formatted by write().
        self.events: list[tuple[str, str, int, int | str, int, int, dict[str, Any] | None]] = []
        # P id -> (running G, its name when the slice began, slice start ns)
        self.open: dict[int, tuple[G, str, int]] = {}
        self.worker_tids: dict[str, int] = {}
        self.lock = mutex()
        self.nprocs = 1

    # -- goroutines on Ps ----------------------------------------------------------

    @staticmethod
    def gname(gp: G) -> str:
        fn = gp.fn
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "main"
        return f"G{gp.goid} {name}"

    def go_start(self, pp: P, gp: G, now: int) -> None:
        # Named now: a G that exits has dropped its function by the time its slice ends.
        self.open[pp.id] = (gp, self.gname(gp), now)
        self.nprocs = max(self.nprocs, pp.id + 1)

    def go_stop(self, pp: P, gp: G, now: int, why: str | None) -> None:
        got = self.open.pop(pp.id, None)
        if got is None or got[0] is not gp:
            return
        if why is None:
            st = gp.status
            if st == Gstatus.WAITING:
                why = str(gp.waitreason) or "waiting"
            elif st == Gstatus.SYSCALL:
                why = "syscall"
            elif st == Gstatus.DEAD:
                why = "exit"
            else:
                why = "gosched"
        name, start = got[1], got[2]
        self.events.append(("X", name, _PID_P, pp.id, start, now - start,
                            {"goid": gp.goid, "stop": why}))

    def go_create(self, pp: P, gp: G, creator: G | None) -> None:
        self.events.append(("i", "GoCreate", _PID_P, pp.id, monotonic_ns(), 0,
                            {"goid": gp.goid, "parent": creator.goid if creator else 0}))

    def go_unblock(self, pp: P, gp: G) -> None:
        self.events.append(("i", "GoUnblock", _PID_P, pp.id, monotonic_ns(), 0,
                            {"goid": gp.goid}))

    def preempt(self, pp: P | None, gp: G, outcome: str) -> None:
        """A preemption outcome on the G's P: "async", "sync", or "deferred: why"."""
        self.events.append(("i", f"preempt {outcome}", _PID_P, pp.id if pp else 0,
                            monotonic_ns(), 0, {"goid": gp.goid}))

    # -- sysmon and workers ----------------------------------------------------------

    def sysmon_tick(self, now: int, acted: bool) -> None:
        self.events.append(("i", "sysmon", _PID_THREADS, _TID_SYSMON, now, 0,
                            {"preempted": acted}))

    def preempt_request(self, gp: G, now: int, signal: bool) -> None:
        self.events.append(("i", "preempt request", _PID_THREADS, _TID_SYSMON, now, 0,
                            {"goid": gp.goid, "signal": signal}))

    def offload(self, gp: G, fn: Any, start: int, end: int) -> None:
        """An offloaded call, recorded by the worker thread that ran it."""
        name = threading.current_thread().name
        with self.lock:
            tid = self.worker_tids.setdefault(name, len(self.worker_tids) + 1)
        label = getattr(fn, "__qualname__", None) or repr(fn)
        self.events.append(("X", f"offload {label}", _PID_THREADS, tid, start, end - start,
                            {"goid": gp.goid}))

    # -- output ---------------------------------------------------------------------

    def close_open(self, now: int) -> None:
        for pid, (gp, name, start) in list(self.open.items()):
            self.events.append(("X", name, _PID_P, pid, start, now - start,
                                {"goid": gp.goid, "stop": "trace end"}))
        self.open.clear()

    def to_json(self) -> dict[str, Any]:
        t0 = self.t0
        evs: list[dict[str, Any]] = [
            {"name": "process_name", "ph": "M", "pid": _PID_P, "args": {"name": "Ps"}},
            {"name": "process_name", "ph": "M", "pid": _PID_THREADS, "args": {"name": "Threads"}},
            {"name": "thread_name", "ph": "M", "pid": _PID_THREADS, "tid": _TID_SYSMON,
             "args": {"name": "sysmon"}},
        ]
        evs += [{"name": "thread_name", "ph": "M", "pid": _PID_P, "tid": i,
                 "args": {"name": f"P{i}"}} for i in range(self.nprocs)]
        evs += [{"name": "thread_name", "ph": "M", "pid": _PID_THREADS, "tid": tid,
                 "args": {"name": name}} for name, tid in self.worker_tids.items()]
        for ph, name, pid, tid, ts, dur, args in self.events:
            e: dict[str, Any] = {"name": name, "ph": ph, "pid": pid, "tid": tid,
                                 "ts": (ts - t0) / 1000, "cat": "gort"}
            if ph == "X":
                e["dur"] = dur / 1000
            else:
                e["s"] = "t"
            if args:
                e["args"] = args
            evs.append(e)
        return {"traceEvents": evs, "displayTimeUnit": "ms",
                "otherData": {"producer": "gort", "version": 1}}

    def write(self) -> None:
        self.close_open(monotonic_ns())
        data = self.to_json()
        if isinstance(self.out, str | os.PathLike):
            with open(self.out, "w", encoding="utf-8") as f:
                json.dump(data, f)
        else:
            json.dump(data, self.out)
            self.out.flush()
