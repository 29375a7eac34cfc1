"""A 5 ms ticker keeps time while four goroutines spin.

Lateness is the gap between two received ticks minus the period: how much
longer than one period the ticker's goroutine waited for the processor. It
stays around one time slice (10 ms), because sysmon preempts the spinner
that holds the processor; ticks missed meanwhile are dropped, as Go's are.

    gort run examples/ticker_under_load.py [TICKS]
"""

import sys
import time

import gort


def hog() -> None:
    x = 0
    while True:
        x += 1


ticks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
period = 0.005
for _ in range(4):
    gort.go(hog)
t = gort.Ticker(period)
t.c.recv()
prev = time.monotonic()
late = []
for _ in range(ticks):
    t.c.recv()
    now = time.monotonic()
    late.append(max(0.0, now - prev - period))
    prev = now
t.stop()
late.sort()
print(f"ticks: {ticks}, late p50 {late[len(late) // 2] * 1e3:.1f} ms, "
      f"max {late[-1] * 1e3:.1f} ms")
