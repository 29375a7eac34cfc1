"""gort.run again and again, each run abandoning parked goroutines: RSS must stay flat.

argv: runs, goroutines per run. Prints the RSS (KiB) after each run.
"""
import os
import sys

import gort

RUNS = int(sys.argv[1])
N = int(sys.argv[2])
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_KIB


def worker(ch, box):
    data = [box] * 10  # something for the abandoned frame to hold
    ch.recv()
    print("resumed", data)  # never: abandoned goroutines are never resumed


def main():
    ch = gort.Chan()
    for _ in range(N):
        gort.go(worker, ch, object())
    gort.sleep(0)  # let them all park
    gort.sleep(0.001)
    return gort.num_goroutine()


for _ in range(RUNS):
    assert gort.run(main) == N + 1
    print(rss_kib())
