"""Lock-heavy cases: this tree against plain threads and against another gort tree, interleaved.

    git worktree add /tmp/base <commit>     # or: git archive <commit> src | tar -x -C /tmp/base
    python bench/locks.py /tmp/base/src [REPS]

Each repetition runs, in fresh processes and in this order, every case for
this tree's gort ("new"), the other tree's ("base", by PYTHONPATH) and plain
threads, so drift of the machine hits them alike. Prints medians, the ratio
new/base and new/threads. Cases (bench/cases.py): ``logging`` (10^5 lines
from 10 at once to one StringIO handler, ns/line), ``queuepp`` (queue.Queue
round trip between two, ns), and for the no-regression check ``pingpong``
(channel round trip, ns), ``fair`` (worst deviation from 1/4 of four
spinners) and ``ok`` (time to OK of examples/spin_ok.py, ms).

A case that does not finish in TIMEOUT_S seconds is recorded as a hang (gort
before goroutine-aware locks: ``queue.Queue.get`` blocks the thread, and so
every goroutine).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NEW_SRC = os.path.join(ROOT, "src")
TIMEOUT_S = 20.0

OK_PROG = f"""
import json, time
import gort
t0 = time.perf_counter()
exec(compile(open({os.path.join(ROOT, "examples", "spin_ok.py")!r}).read(), "spin_ok.py", "exec"))
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1e3}}))
"""

CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    # (name, key in the JSON, argument, systems)
    ("logging", "ns_per_op", "100000", ("gort", "threads")),
    ("queuepp", "ns_per_op", "20000", ("gort", "threads")),
    ("pingpong", "ns_per_op", "50000", ("gort",)),
    ("fair", "worst_dev", "1.0", ("gort",)),
    ("ok", "ms", "", ("gort",)),
]


def run_one(name: str, system: str, arg: str, src: str) -> dict[str, Any] | None:
    env = {**os.environ, "PYTHONPATH": src}
    env.pop("GORT_PREEMPT_NS", None)
    if name == "ok":
        cmd = [sys.executable, "-c", OK_PROG]
    else:
        cmd = [sys.executable, os.path.join(HERE, "cases.py"), name, system, arg]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                           cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        raise RuntimeError(f"{name} {system} ({src}) failed:\n{p.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    base_src = os.path.abspath(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    res: dict[tuple[str, str], list[float | None]] = {}
    hung: set[tuple[str, str]] = set()
    for _ in range(reps):
        for name, key, arg, systems in CASES:
            for label, system, src in [("new", "gort", NEW_SRC), ("base", "gort", base_src)] + \
                    [("threads", s, NEW_SRC) for s in systems if s != "gort"]:
                if (name, label) in hung:
                    continue  # a hang is not retried: it would cost TIMEOUT_S every time
                r = run_one(name, system, arg, src)
                if r is None:
                    hung.add((name, label))
                res.setdefault((name, label), []).append(None if r is None else r[key])
    print(f"{'case':9s} {'new':>10s} {'base':>10s} {'threads':>10s} {'new/base':>9s} "
          f"{'new/thr':>8s}   (medians of {reps})")
    for name, _key, _arg, _systems in CASES:
        med: dict[str, float | None] = {}
        for label in ("new", "base", "threads"):
            xs = [x for x in res.get((name, label), []) if x is not None]
            med[label] = statistics.median(xs) if xs and (name, label) not in hung else None

        def cell(v: float | None, label: str, name: str = name) -> str:
            if (name, label) in hung:
                return "hangs"
            return "-" if v is None else f"{v:.4g}"

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.3f}" if a is not None and b else "-"

        print(f"{name:9s} {cell(med['new'], 'new'):>10s} {cell(med['base'], 'base'):>10s} "
              f"{cell(med['threads'], 'threads'):>10s} {ratio(med['new'], med['base']):>9s} "
              f"{ratio(med['new'], med['threads']):>8s}")


if __name__ == "__main__":
    main()
