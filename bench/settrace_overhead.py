"""What the program's sys.settrace function costs per traced line, outside a run and
inside a goroutine (on 3.11 gort runs it inside a wrapper: preempt.TraceOwner).

Alternates the two, REPEATS times each, and prints the medians in ns per traced event
(a trivial trace function that counts and returns itself, over a 200,000-iteration
loop), and their difference: the wrapper's cost per event.

    python bench/settrace_overhead.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time
from types import FrameType
from typing import Any

import gort

N = 200_000
events = [0]


def count(frame: FrameType, event: str, arg: Any) -> Any:
    events[0] += 1
    return count


def work(n: int) -> int:
    t = 0
    for i in range(n):
        t += i
    return t


def traced() -> float:
    """ns per traced event of work(N) under count."""
    events[0] = 0
    sys.settrace(count)
    t0 = time.perf_counter()
    work(N)
    dt = time.perf_counter() - t0
    sys.settrace(None)
    return dt / events[0] * 1e9


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    outside: list[float] = []
    inside: list[float] = []
    for _ in range(reps):
        outside.append(traced())
        inside.append(gort.run(traced))
    a, b = statistics.median(outside), statistics.median(inside)
    print(f"python {sys.version_info.major}.{sys.version_info.minor}: ns per traced event, "
          f"median of {reps}: outside a run {a:.0f}, in a goroutine {b:.0f} "
          f"(+{b - a:.0f}, {b / a:.2f}x)")


if __name__ == "__main__":
    main()
