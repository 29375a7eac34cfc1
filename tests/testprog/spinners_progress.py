"""Four spinners on one P; prints how many made progress within the window (ms)."""
import sys
import time

import gort

window = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.3
counts = [0] * 4


def spin(i):
    while True:
        counts[i] += 1


for i in range(4):
    gort.go(spin, i)
t0 = time.monotonic()
gort.sleep(window)
print(f"progressed {sum(1 for c in counts if c > 0)} in {(time.monotonic() - t0) * 1000:.0f}ms")
