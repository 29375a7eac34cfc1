"""A generator advanced through a C iterator, or finalized from C, is never the place of a
switch: the C between its frame and the caller's is not genobject.c's alone.

argv[1], KIND_HOW:
  tee_for     two goroutines iterate the two copies of itertools.tee over a generator
              that computes, with for (adversarial round 7): switched out inside, tee's
              "running" flag stays set and the other gets "RuntimeError: cannot re-enter
              the tee iterator".
  tee_next    the same with next(copy) (adversarial round 8: next(), send() and the
  tee_list    consuming builtins were taken to resume the generator itself whatever they
              were given), or list(islice(copy, 3)).
  fin_for     a goroutine loops `for v in islice(closing(), 1)` (round 7), or calls
  fin_next    next() or sum() of it (round 8): islice drops the generator, whose finally
  fin_sum     (computing) runs from its deallocation; watchers must never see it
              half-done.
  shared_zip  two goroutines call next() on one zip over two generators (round 8):
              "generator already executing" for the second.
Prints "ok" or what went wrong.
"""
import itertools
import sys

import gort
from gort.sync import WaitGroup

KIND, HOW = sys.argv[1].split("_")
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


def reader(wg, it):
    try:
        if HOW == "for":
            got = 0
            for _v in it:
                got += 1
                if got >= 3000:
                    break
        for _ in range(0 if HOW == "for" else 100):
            if HOW == "list":
                list(itertools.islice(it, 3))
            else:
                next(it)
    except (RuntimeError, ValueError) as e:
        errors.append(repr(e))
    finally:
        wg.done()


def fin_owner(wg):
    while not stop[0]:
        if HOW == "for":
            for _v in itertools.islice(closing(), 1):
                pass
        elif HOW == "next":
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
    if KIND == "fin":
        wg.add(3)
        gort.go(fin_owner, wg)
        gort.go(watcher, wg)
        gort.go(watcher, wg)
        gort.sleep(1)
        stop[0] = True
        wg.wait()
        if state["seen"] or not state["closed"]:
            errors.append(f"finally seen half-done {state['seen']} times, "
                          f"{state['closed']} closed")
    else:
        its = itertools.tee(gen()) if KIND == "tee" else (zip(gen(), gen(), strict=False),) * 2
        wg.add(2)
        gort.go(reader, wg, its[0])
        gort.go(reader, wg, its[1])
        wg.wait()
    print("ok" if not errors else f"FAIL {errors[:2]}")


gort.run(main)
