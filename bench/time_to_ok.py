"""Time to OK of examples/spin_ok.py, the README's first example, over N fresh processes.

Measures from just before `gort.go(spin)` to just after the main goroutine is
back (the wait that preemption ends), inside each process, plus the whole
process's wall time. Prints min / median / p99 and the preemption counts.

    python bench/time_to_ok.py [RUNS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

PROG = r"""
import json, time, gort
gort.gomaxprocs(1)
def spin():
    while True:
        pass
t0 = time.perf_counter()
gort.go(spin)
gort.sleep(0.001)
dt = time.perf_counter() - t0
print("OK")
st = gort.stats()
print(json.dumps({"ms": dt * 1e3, "async": st["preempt_async"], "sync": st["preempt_sync"],
                  "signals": st["signals_sent"]}))
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    inner: list[float] = []
    wall: list[float] = []
    preempts: list[int] = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", PROG], capture_output=True, text=True,
                           timeout=30, check=True)
        wall.append((time.perf_counter() - t) * 1e3)
        lines = r.stdout.splitlines()
        assert lines[0] == "OK", r.stdout
        d = json.loads(lines[1])
        inner.append(d["ms"])
        preempts.append(d["async"] + d["sync"])
    print(f"runs {runs}")
    print(f"time to OK (ms): min {min(inner):.2f}  median {statistics.median(inner):.2f}  "
          f"p99 {pct(inner, 99):.2f}")
    print(f"process wall (ms): min {min(wall):.1f}  median {statistics.median(wall):.1f}  "
          f"p99 {pct(wall, 99):.1f}")
    print(f"preemptions per run: {sorted(set(preempts))}")


if __name__ == "__main__":
    main()
