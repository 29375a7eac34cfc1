"""CPU overhead of gort (sysmon on) on a CPU-bound pure-Python loop.

Runs the same work plainly and as gort's main goroutine, alternating, and
prints the process CPU time (all threads: sysmon's included) as min and
median, and their ratios. Two cases:
  - alone: the only goroutine; sysmon still preempts it every slice (a signal
    and a switch back to itself every 10 ms);
  - yielding: the loop calls gort.gosched() every ~0.5 ms, so no preemption
    is needed and sysmon only watches.

    python bench/overhead.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import gort


def work(n: int, yield_every: int, yield_fn: Callable[[], None]) -> int:
    x = 0
    for i in range(n):
        x += i * i % 7
        if yield_every and i % yield_every == 0:
            yield_fn()
    return x


def _nothing() -> None:
    pass


def plain(n: int, yield_every: int) -> float:
    t = time.process_time()
    work(n, yield_every, _nothing)
    return time.process_time() - t


def in_gort(n: int, yield_every: int) -> tuple[float, dict[str, object]]:
    def main() -> tuple[float, dict[str, object]]:
        t = time.process_time()
        work(n, yield_every, gort.gosched)
        return time.process_time() - t, gort.stats()

    return gort.run(main)


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    n = 3_000_000
    for label, every in (("alone", 0), ("yielding", 20_000)):
        a: list[float] = []
        b: list[float] = []
        st: dict[str, object] = {}
        for _ in range(reps):
            a.append(plain(n, every))
            dt, st = in_gort(n, every)
            b.append(dt)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{label:9s} CPU ms: plain min {min(a) * 1e3:6.1f} median {ma * 1e3:6.1f}; gort "
              f"min {min(b) * 1e3:6.1f} median {mb * 1e3:6.1f}; ratio min {min(b) / min(a):.4f} "
              f"median {mb / ma:.4f}  (last run: async {st['preempt_async']}, "
              f"sync {st['preempt_sync']}, sysmon wake-ups {st['sysmon_wakeups']})")


if __name__ == "__main__":
    main()
