"""A generator advanced through a C iterator, or finalized from C, is never the place of a
switch (adversarial round 7): the C between its frame and the caller's FOR_ITER is not
genobject.c's alone.

argv[1]:
  tee     two goroutines iterate the two copies of itertools.tee over a generator that
          computes: switched out inside, tee's "running" flag stays set and the other
          gets "RuntimeError: cannot re-enter the tee iterator".
  islice  a goroutine loops `for v in islice(g(), 1)`: islice drops g, whose finally
          (computing) runs from its deallocation; watchers must never see it half-done.
Prints "ok" or what went wrong.
"""
import itertools
import sys

import gort
from gort.sync import WaitGroup

MODE = sys.argv[1]
errors = []
state = {"in_finally": False, "seen": 0, "closed": 0}
stop = [False]


def compute(n):
    x = 0
    for k in range(n):
        x += k
    return x


def gen():
    i = 0
    while True:
        compute(2000)
        yield i
        i += 1


def worker(it, n, wg):
    try:
        got = 0
        for _v in it:
            got += 1
            if got >= n:
                break
    except RuntimeError as e:
        errors.append(repr(e))
    finally:
        wg.done()


def closing():
    try:
        yield 1
    finally:
        state["in_finally"] = True
        compute(3000)
        state["in_finally"] = False
        state["closed"] += 1


def owner(wg):
    while not stop[0]:
        for _v in itertools.islice(closing(), 1):
            pass
    wg.done()


def watcher(wg):
    while not stop[0]:
        if state["in_finally"]:
            state["seen"] += 1
        compute(100)
    wg.done()


def main():
    wg = WaitGroup()
    if MODE == "tee":
        a, b = itertools.tee(gen())
        wg.add(2)
        gort.go(worker, a, 3000, wg)
        gort.go(worker, b, 3000, wg)
        wg.wait()
    else:
        wg.add(3)
        gort.go(owner, wg)
        gort.go(watcher, wg)
        gort.go(watcher, wg)
        gort.sleep(1)
        stop[0] = True
        wg.wait()
        if state["seen"] or not state["closed"]:
            errors.append(f"finally seen half-done {state['seen']} times, "
                          f"{state['closed']} closed")
    print("ok" if not errors else f"FAIL {errors[:2]}")


gort.run(main)
