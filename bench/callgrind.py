"""Instructions per operation under callgrind: ``python bench/run.py OUT.md --callgrind``.

Each (benchmark, system) case of bench/cases.py runs twice under ``valgrind
--tool=callgrind`` (instrumentation only, no cache simulation), with N and N + DN
operations; (instructions(N + DN) - instructions(N)) / DN is the cost of one
operation with start-up, imports and the runtime's start cancelled out. Machine
noise does not move these counts, which wall-clock medians on a shared machine
cannot promise. ``gort-pure`` is gort with GORT_PURE_PYTHON=1. ``gort-main`` (when
GORT_BENCH_BASE=DIR): the gort source tree at DIR (e.g. ``git archive`` of the
commit before a change), for before/after.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.environ.get("GORT_BENCH_BASE", "")  # a gort source tree for "gort-main"
CASES = (
    ("pingpong", ("gort", "gort-pure", "greenlet", "gevent"), 1000, 20000),
    ("buffered", ("gort", "gort-pure", "gevent"), 1000, 20000),
    ("select", ("gort", "gort-pure"), 1000, 20000),
    ("spawn", ("gort", "gort-pure", "greenlet", "gevent"), 1000, 5000),
)


def instructions(bench: str, system: str, n: int) -> int:
    """Instructions callgrind counts for one run of a case with n operations."""
    # No time slices: under valgrind 10 ms of wall time is ~50x fewer operations than
    # natively, so sysmon's preemptions (their number set by the clock, not the work)
    # would weigh ~50x more per operation and vary run to run.
    env = {**os.environ, "GORT_PREEMPT_NS": str(10**12)}
    if system == "gort-pure":
        system = "gort"
        env["GORT_PURE_PYTHON"] = "1"
    elif system == "gort-main":
        system = "gort"
        env["GORT_PURE_PYTHON"] = "1"
        env["PYTHONPATH"] = os.path.join(BASE, "src")
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/cg.out",
             sys.executable, os.path.join(HERE, "cases.py"), bench, system, str(n)],
            capture_output=True, text=True, env=env, timeout=600, cwd=HERE)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or m is None:
        raise RuntimeError(f"callgrind {bench} {system} {n}: exit {r.returncode}: "
                           f"{r.stderr.strip().splitlines()[-1:]}")
    return int(m.group(1))


def run(only: set[str] | None) -> dict[str, dict[str, float | str]]:
    """{bench: {system: instructions per op, or why not}} for the cases in CASES (and
    gort-main beside gort-pure when GORT_BENCH_BASE names a source tree)."""
    out: dict[str, dict[str, float | str]] = {}
    for bench, systems, n, dn in CASES:
        if only is not None and bench not in only:
            continue
        if BASE:
            systems = (*systems, "gort-main")
        out[bench] = {}
        for system in systems:
            try:
                a = instructions(bench, system, n)
                b = instructions(bench, system, n + dn)
                out[bench][system] = (b - a) / dn
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                out[bench][system] = f"failed: {e}"
            print(f"callgrind {bench} {system}: {out[bench][system]}", file=sys.stderr)
    return out


def report(res: dict[str, dict[str, float | str]]) -> str:
    """A Markdown table: instructions per op, and the ratio to raw greenlet where measured."""
    lines = ["## Instructions per operation (callgrind)", "",
             "| benchmark | system | instructions/op | vs greenlet |", "|---|---|--:|--:|"]
    for bench, row in res.items():
        base = row.get("greenlet")
        for system, v in row.items():
            if isinstance(v, str):
                lines.append(f"| {bench} | {system} | {v} | |")
                continue
            ratio = f"{v / base:.2f}x" if isinstance(base, float) else ""
            lines.append(f"| {bench} | {system} | {v:,.0f} | {ratio} |")
    return "\n".join(lines) + "\n"
