"""gort.run again and again, each run abandoning parked goroutines: RSS must stay flat.

argv: runs, goroutines per run, and the shape the goroutines park in (default
``plain``): ``try`` (inside try/finally and try/except), ``with`` (inside a
with block), ``child`` (inside a child greenlet of their own, itself inside a
try). Prints the RSS (KiB) after each run, then the goroutines kept for the
process's life (abandon.kept()). No handler of an abandoned goroutine ever runs
("resumed" or "handler" would be printed).
"""
import os
import sys

from greenlet import greenlet

import gort
from gort.runtime import abandon

RUNS = int(sys.argv[1])
N = int(sys.argv[2])
SHAPE = sys.argv[3] if len(sys.argv) > 3 else "plain"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_KIB


class Ctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        print("handler: __exit__")


def park(ch, data):
    if SHAPE == "try":
        try:
            try:
                ch.recv()
            except BaseException:
                print("handler: except")
        finally:
            print("handler: finally")
    elif SHAPE == "with":
        with Ctx():
            ch.recv()
    else:
        ch.recv()
    print("resumed", data)  # never: abandoned goroutines are never resumed


def worker(ch, box):
    data = [box] * 10  # something for the abandoned frame to hold
    if SHAPE == "child":
        try:
            greenlet(park).switch(ch, data)
        finally:
            print("handler: parent finally")
    else:
        park(ch, data)


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
gort.run(lambda: None)  # the last run's goroutines are released at the next start
print("kept", abandon.kept())
