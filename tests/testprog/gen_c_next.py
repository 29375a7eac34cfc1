"""Generators under C iterators resumed by next() or a consuming builtin, not by a for
loop (adversarial round 8): the exemption for "next(gen) resumes the generator" also
matched ``next(islice(g, 1))``, ``list(islice(tee_copy, 5))`` and ``next(zip(g, h))``,
so the goroutine was switched out inside the C iterator's call: tee re-entered, a
finally run from the generator's deallocation cut in half, "generator already
executing" for the second goroutine, in every run at 50 us. Prints ok or FAIL.
usage: gen_c_next.py tee_next|tee_list|fin_next|fin_sum|shared_zip"""
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


def closing():
    try:
        yield 1
    finally:
        state["in_finally"] = True
        compute(3000)
        state["in_finally"] = False
        state["closed"] += 1


def reader(wg, it, how):
    try:
        for _ in range(100):
            if how == "next":
                next(it)
            else:
                list(itertools.islice(it, 3))
    except (RuntimeError, ValueError) as e:
        errors.append(repr(e))
    finally:
        wg.done()


def fin_owner(wg, how):
    while not stop[0]:
        if how == "next":
            next(itertools.islice(closing(), 1))
        else:
            sum(itertools.islice(closing(), 1))
    wg.done()


def watcher(wg):
    while not stop[0]:
        if state["in_finally"]:
            state["seen"] += 1
        compute(100)
    wg.done()


def main():
    wg = WaitGroup()
    kind, how = MODE.split("_")
    if kind == "fin":
        wg.add(3)
        gort.go(fin_owner, wg, how)
        gort.go(watcher, wg)
        gort.go(watcher, wg)
        gort.sleep(0.5)
        stop[0] = True
        wg.wait()
        if state["seen"] or not state["closed"]:
            errors.append(f"finally seen half-done {state['seen']} times, "
                          f"{state['closed']} closed")
    else:
        its = itertools.tee(gen()) if kind == "tee" else (zip(gen(), gen(), strict=False),) * 2
        wg.add(2)
        gort.go(reader, wg, its[0], "next" if how in ("next", "zip") else "list")
        gort.go(reader, wg, its[1], "next" if how in ("next", "zip") else "list")
        wg.wait()
    print("ok" if not errors else f"FAIL {errors[:2]}")


gort.run(main)
