"""Ctrl-C while a worker computes inside a retry loop; main is parked in wg.wait().

The KeyboardInterrupt goes to main, never to the worker.
argv[1] == "catch": the worker retries on everything (bare ``except:``);
main catches the KeyboardInterrupt and prints "main caught 0" (the worker
swallowed nothing). It then leaves with os._exit: a goroutine that swallows
GreenletExit at teardown is another subject (issue 9, exit).
Otherwise the worker retries on Exception only, main does not catch: the
program ends with "signal: interrupt" and status 130.
"""

import os
import sys

import gort
from gort.sync import WaitGroup

CATCH = sys.argv[1:] == ["catch"]
wg = WaitGroup()
swallowed = [0]


def compute():
    x = 0
    for i in range(10_000):
        x += i


def worker():
    while True:
        if CATCH:
            try:
                compute()
            except:  # noqa: E722 - the point: a worker that swallows everything
                swallowed[0] += 1
        else:
            try:
                compute()
            except Exception:
                swallowed[0] += 1


wg.add(1)
gort.go(worker)
gort.sleep(0.01)
print("READY", flush=True)
if CATCH:
    try:
        wg.wait()
    except KeyboardInterrupt:
        print("main caught", swallowed[0], flush=True)
        os._exit(0)
else:
    wg.wait()
