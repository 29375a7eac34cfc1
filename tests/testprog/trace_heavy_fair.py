"""Fairness beside a goroutine whose time goes into the program's trace or profile
function, which calls gort (a non-blocking select) and computes at every event, while
the goroutine calls a small function in a loop; main sleeps 1 ms 50 times.

No goroutine is switched out inside the callback, so a request that lands there waits.
On 3.11 a hook on the traced frame was overwritten by the trace trampoline (it stores
the callback's result in the frame's f_trace), so no hook was armed and the request
was left to sysmon's next signal: main waited up to 6.6-7.9 s for one 1 ms sleep
(adversarial round 7, finding 3). The hook now goes on the traced frame's caller.

argv[1]: trace or profile. Prints OK when main's median sleep stayed within 10 slices
(100 ms) and its longest within 2 s; else BAD and what was seen.
"""
import sys

from sleep_latency import sleep_latencies

import gort

HOW = sys.argv[1]
side = gort.Chan(1)
stop = [False]


def spin(n: int) -> int:
    x = 0
    for k in range(n):
        x += k
    return x


def cb(frame, event, arg):  # type: ignore[no-untyped-def]
    gort.select((side.send, 1), gort.default)
    gort.select(side.recv, gort.default)
    spin(200)
    return cb if HOW == "trace" else None


def small(i: int) -> int:
    return i + 1


def busy() -> None:
    (sys.settrace if HOW == "trace" else sys.setprofile)(cb)
    i = 0
    while not stop[0]:
        i = small(i)
    (sys.settrace if HOW == "trace" else sys.setprofile)(None)


def main() -> None:
    gort.go(busy)
    gort.sleep(0.01)
    lat = sleep_latencies()
    stop[0] = True
    gort.sleep(0.01)
    good = lat[25] < 0.1 and lat[-1] < 2.0
    print("OK" if good else f"BAD median {lat[25] * 1e3:.1f} ms max {lat[-1] * 1e3:.1f} ms")


gort.run(main)
