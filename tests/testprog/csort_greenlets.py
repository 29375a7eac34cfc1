"""Detector for 'switched out with C between frames' across greenlets a goroutine made
(adversarial rounds 6 and 7): while list.sort runs, the list looks empty to everyone
else. One goroutine sorts a shared list with a Python key that computes inside
greenlets nested DEPTH deep (each level inside another C call, re.sub's callback), two
others watch len(shared): a watcher seeing 0 means the sorter was switched out inside
list.sort. Mode "sib": the sort runs in greenlet A whose key switches to its sibling B
(B's parent is the goroutine's greenlet, not A). Mode "plain": no greenlets.

usage: csort_greenlets.py SECONDS DEPTH [gr|sib|plain]
"""
import re
import sys
import time

import greenlet

import gort

SECONDS = float(sys.argv[1])
DEPTH = int(sys.argv[2])
MODE = sys.argv[3] if len(sys.argv) > 3 else "gr"
shared = list(range(64))
bad = []
stop = [False]

def spin(n):
    x = 0
    for k in range(n):
        x += k
    return x

def level(d, x):
    if d == 0:
        return spin(300) + x
    if MODE == "plain":
        return level(d - 1, x)
    # inside another C call, in a greenlet
    def inner():
        out = []
        re.sub("a", lambda m: (out.append(level(d - 1, x)), "b")[1], "a")
        return out[0]
    return greenlet.greenlet(inner).switch()

def key(x):
    return level(DEPTH, x) % 97

def sorter():
    if MODE == "sib":
        # A sorts; its key switches to sibling B (both children of this G's greenlet);
        # B computes and switches back to A. B's parent is the G's greenlet, not A.
        box = {}
        def b_fn(x):
            while True:
                x = box["a"].switch(spin(300) + x)
        def a_fn():
            while not stop[0]:
                shared.sort(key=lambda x: box["b"].switch(x) % 97)
        box["b"] = greenlet.greenlet(b_fn)
        box["a"] = greenlet.greenlet(a_fn)
        box["a"].switch()
        return
    while not stop[0]:
        shared.sort(key=key)

def watcher():
    while not stop[0]:
        if len(shared) == 0:
            bad.append(time.monotonic())
        spin(100)

def main():
    gort.go(sorter)
    gort.go(watcher)
    gort.go(watcher)
    gort.sleep(SECONDS)
    stop[0] = True
    gort.sleep(0.05)
    print("watchers saw an empty list", len(bad), "times")
    if bad:
        raise SystemExit(1)

gort.run(main)
