"""Run under coverage (argv[1]: sleep | csum). A goroutine loops on a C call: time.sleep
(0.5 ms, the GIL released: requests land right after the call) or sum(range(2000));
main sleeps 1 ms fifty times. On 3.11 coverage's C tracer leaves no hook to arm, and its
Python tracer (--timid) is a callback where requests land: the goroutine is switched
out at the next check (its loop's back edge) all the same. Prints whether main's
longest sleep stayed under 1 s (one slice is expected); before, the sleep mode hung
and the csum mode under --timid took 40 s."""
import sys
import time

import gort

MODE = sys.argv[1]
stop = [False]


def sleeper():
    while not stop[0]:
        time.sleep(0.0005)


def csum():
    while not stop[0]:
        sum(range(2000))


def main():
    gort.go(sleeper if MODE == "sleep" else csum)
    longest = 0.0
    for _ in range(50):
        t = time.perf_counter()
        gort.sleep(0.001)
        longest = max(longest, time.perf_counter() - t)
    stop[0] = True
    print(f"{MODE}: longest {longest * 1e3:.1f} ms {gort.stats()['preempt_deferred']}",
          file=sys.stderr)
    print("longest_under_1s", longest < 1.0)


main()
