"""A 1 ms ticker while four goroutines spin; prints the worst lateness (ms)."""
import time

import gort


def hog():
    while True:
        pass


for _ in range(4):
    gort.go(hog)
tk = gort.Ticker(0.001)
tk.c.recv()
prev = time.monotonic()
worst = 0.0
for _ in range(100):
    tk.c.recv()
    now = time.monotonic()
    worst = max(worst, now - prev - 0.001)
    prev = now
print(f"worst {worst * 1000:.1f}ms")
