"""Direct accounting of what preemption costs, robust to a noisy machine.

Runs a CPU-bound loop as the only goroutine for DURATION seconds (so sysmon
preempts it every slice: the worst case with nothing else to run) and reads:
  - sysmon's own CPU time (Stats.sysmon_cpu_ns) and its GIL waits;
  - the main thread's cost per asynchronous preemption, timed around the
    signal handler (entry to resumption, minus nothing: it resumes itself).
Overhead = (sysmon CPU + preemptions x cost each) / elapsed CPU.

    python bench/preempt_cost.py [DURATION]
"""

from __future__ import annotations

import sys
import time

import gort
import gort.runtime.signal_unix as su


def main() -> None:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    spent: list[float] = []
    orig = su.Signals.sighandler

    def timed(self: su.Signals, signum: int, frame: object) -> None:
        t = time.thread_time()
        orig(self, signum, frame)  # type: ignore[arg-type]
        spent.append(time.thread_time() - t)

    su.Signals.sighandler = timed  # type: ignore[method-assign]

    def prog() -> dict[str, int]:
        t_end = time.monotonic() + duration
        x = 0
        while time.monotonic() < t_end:
            x += 1
        return gort.stats()

    c0 = time.process_time()
    st = gort.run(prog)
    cpu = time.process_time() - c0
    handler = sum(spent)
    print(f"elapsed CPU {cpu * 1e3:.0f} ms; preemptions async {st['preempt_async']}, "
          f"signals {st['signals_sent']}, sysmon wake-ups {st['sysmon_wakeups']}")
    print(f"sysmon CPU {st['sysmon_cpu_ns'] / 1e6:.2f} ms "
          f"({st['sysmon_cpu_ns'] / 1e3 / max(1, st['sysmon_wakeups']):.0f} us per wake-up); "
          f"GIL wait max {st['sysmon_gil_wait_max_ns'] / 1e3:.0f} us, mean "
          f"{st['sysmon_gil_wait_total_ns'] / 1e3 / max(1, st['sysmon_wakeups']):.0f} us")
    print(f"handler CPU {handler * 1e3:.2f} ms over {len(spent)} signals "
          f"({handler / max(1, len(spent)) * 1e6:.0f} us each)")
    print(f"overhead {(st['sysmon_cpu_ns'] / 1e9 + handler) / cpu * 100:.2f} % of CPU")


if __name__ == "__main__":
    main()
