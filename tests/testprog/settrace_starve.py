"""Goroutines looping in their own function under a Python trace function that does
real work on every event (about pdb's or a Python coverage tracer's cost).

Four spinners run under sys.settrace(tracer); main sleeps 1 ms twenty times. A request
lands inside the tracer's callback almost every time, where nothing can be hooked on
3.11 (the trampoline stores the callback's result over the traced frame's f_trace):
the handler asks again at the next eval-breaker check, to land between two callbacks.
Prints the median of main's sleeps under 1 s (True/False) and whether every spinner
ran; before the re-asking, the median was 1.8 to 3.6 s (a minute at the worst).
"""
import sys
import time

import gort

W = int(sys.argv[1]) if len(sys.argv) > 1 else 100


def tracer(frame, event, arg):
    for _ in range(W):
        pass
    return tracer


def spin(i, stop, counts):
    while not stop:
        counts[i] += 1


def main():
    stop = []
    counts = [0] * 4
    sys.settrace(tracer)
    for i in range(4):
        gort.go(spin, i, stop, counts)
    took = []
    for _ in range(20):
        t = time.perf_counter()
        gort.sleep(0.001)
        took.append(time.perf_counter() - t)
    stop.append(1)
    gort.sleep(0.05)
    sys.settrace(None)
    took.sort()
    print(f"median {took[10] * 1e3:.1f} ms, max {took[-1] * 1e3:.1f} ms", file=sys.stderr)
    print("median_under_1s", took[10] < 1.0, "all_ran", all(counts))


gort.run(main)
