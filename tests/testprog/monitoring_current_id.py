"""3.12+: a global sys.monitoring PY_START callback that asks gort.current_id() (adversarial
G3). sys.monitoring callbacks fire on every thread; sysmon's thread is muted
(m.newosproc), so the callback never runs there, where current_id() would raise and kill
sysmon (the run then hung). Prints the goroutines' event counts (main, the sleeper)."""

import collections
import sys

import gort

seen: collections.Counter[int] = collections.Counter()


def cb(code, off):  # type: ignore[no-untyped-def]
    seen[gort.current_id()] += 1


def spin() -> None:
    while True:
        pass


def f() -> int:
    return 1


def main() -> None:
    mon = sys.monitoring
    mon.use_tool_id(3, "g3")
    mon.register_callback(3, mon.events.PY_START, cb)
    mon.set_events(3, mon.events.PY_START)
    gort.go(spin)  # keeps sysmon looking and preempting
    for _ in range(20):
        f()
        gort.sleep(0.005)
    mon.set_events(3, 0)
    mon.free_tool_id(3)
    print("main events >= 20:", seen[1] >= 20, "sysmon ok:", gort.stats()["preempt_async"] > 0)


gort.run(main)
