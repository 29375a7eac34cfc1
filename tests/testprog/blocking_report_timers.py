"""Two sleepers' timers come due while main blocks the M in time.sleep: the report counts them."""
import time

import gort

started = []


def ticker():
    started.append(1)
    for _ in range(5):
        gort.sleep(0.01)


gort.go(ticker)
gort.go(ticker)
while len(started) < 2:  # both parked in their first sleep before main blocks
    gort.sleep(0.001)
time.sleep(0.5)
print("done", gort.stats().get("blocked_reports"))
