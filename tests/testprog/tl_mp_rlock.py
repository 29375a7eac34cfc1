"""multiprocessing.RLock (and Condition) shared by goroutines of one process, as threads
share them (adversarial F7): the C SemLock is owned per thread, so without gort's gate a
second goroutine of the thread entered it. argv[1]: RLock | Condition | Lock.
Prints OK when the counter is exact."""
import multiprocessing as mp
import sys

import gort

lk = getattr(mp, sys.argv[1] if len(sys.argv) > 1 else "RLock")()
N = 1000
c = [0]


def w():
    for _ in range(N):
        with lk:
            v = c[0]
            for _ in range(200):
                pass
            c[0] = v + 1


def main():
    wg = gort.sync.WaitGroup()
    for _ in range(2):
        wg.go(w)
    wg.wait()
    print("OK" if c[0] == 2 * N else f"FAIL counter={c[0]} of {2 * N}")


if __name__ == "__main__":
    gort.run(main)
