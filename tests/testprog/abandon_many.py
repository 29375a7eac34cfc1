"""main returns with argv[1] goroutines parked: how long gort.run takes to return (printed, s)."""
import sys
import time

import gort

N = int(sys.argv[1])
t_return = 0.0


def main():
    global t_return
    ch = gort.Chan()
    for _ in range(N):
        gort.go(ch.recv)
    gort.sleep(0.001)
    assert gort.num_goroutine() == N + 1
    t_return = time.perf_counter()


gort.run(main)
print(f"returned {time.perf_counter() - t_return:.4f}", flush=True)
