"""What execution tracing costs: ping-pong round trips with tracing off and on.

Alternates the two, REPEATS times each, and prints the medians. With tracing
off the scheduler pays one attribute test in each goready and each
scheduling round (newproc has one too); their cost is measured separately
with timeit (net of timeit's own loop), as the cost of "off".

    python bench/trace_overhead.py [REPEATS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import pingpong_gort

N = 20_000


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    off: list[float] = []
    on: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.json")
        for _ in range(reps):
            off.append(pingpong_gort(N)["ns_per_op"] / 1e9)
            on.append(pingpong_gort(N, path)["ns_per_op"] / 1e9)
        size = os.path.getsize(path)
    m_off, m_on = statistics.median(off), statistics.median(on)

    class S:
        tracer = None

    s = S()

    def best(stmt: str) -> float:
        return min(timeit.repeat(stmt, globals={"s": s}, number=1_000_000, repeat=7)) / 1e6

    check = max(0.0, best("s.tracer is not None") - best("pass"))
    print(f"ping-pong round trip: tracing off {m_off * 1e9:.0f} ns, on {m_on * 1e9:.0f} ns "
          f"(x{m_on / m_off:.2f}); trace file {size / N:.0f} bytes per round trip")
    print(f"tracing off: 4 hook tests per round trip (goready, schedule; twice) x "
          f"{check * 1e9:.1f} ns = {4 * check * 1e9:.0f} ns, "
          f"{4 * check / m_off * 100:.2f} % of a round trip")


if __name__ == "__main__":
    main()
