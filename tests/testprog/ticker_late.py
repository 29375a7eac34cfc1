"""A 1 ms ticker while four goroutines spin; prints the worst lateness (ms).

Two measures: wall-clock lateness, and the process CPU time spent between
two ticks beyond the period. The second is what gort controls (a loaded
machine that deschedules the whole process adds to the first, not to it).
"""
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
prev_cpu = time.process_time()
worst = worst_cpu = 0.0
for _ in range(100):
    tk.c.recv()
    now, cpu = time.monotonic(), time.process_time()
    worst = max(worst, now - prev - 0.001)
    worst_cpu = max(worst_cpu, cpu - prev_cpu - 0.001)
    prev, prev_cpu = now, cpu
print(f"worst {worst * 1000:.1f}ms cpu {worst_cpu * 1000:.1f}ms")
