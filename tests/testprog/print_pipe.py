"""Spinners plus goroutines printing heavily to a pipe the parent reads slowly."""
import sys

import gort
from gort.sync import WaitGroup

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
stop = [False]


def spin():
    while not stop[0]:
        pass


def writer(w):
    for i in range(LINES):
        print(f"w{w} line {i} " + "x" * 100)


for _ in range(2):
    gort.go(spin)
wg = WaitGroup()
for w in range(3):
    wg.add(1)
    gort.go(lambda w=w: (writer(w), wg.done()))
wg.wait()
stop[0] = True
sys.stdout.flush()
print("DONE", file=sys.stderr)
