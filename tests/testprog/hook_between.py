"""Goroutines incrementing a shared dict entry (``counts["n"] += 1``, no call inside the
statement) under the program's own profile function: no increment may be lost.

argv: SEED SECONDS. The profile function does Python work at every "return" event, so
sysmon's requests often land inside it and gort's one-shot hook is armed on the
returning frame (bump's), whose next instruction never runs: bump's code keeps the hook's
events, and the next request lands inside the hook's own callback, between two
instructions of another bump frame. Before the fix (3.12+), the handler armed the hook
again on that frame, and the same callback switched the goroutine out right there, in
the middle of the statement: a lost increment in most runs of 3 s at a 50 us slice
(CPython's eval loop never switches threads there: no call, no back edge).
Prints "lost N switches_async M"; exits 1 if N is not 0.
"""

import random
import sys
import time

import gort

seed, seconds = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + seconds
counts = {"n": 0}


def spin(n: int) -> int:
    x = 0
    for k in range(n):
        x += k
    return x


def prof(frame, event, arg):  # type: ignore[no-untyped-def]
    if event == "return":
        spin(30)


def bump() -> None:
    counts["n"] += 1
    counts["n"] += 1
    counts["n"] += 1


def worker(r: random.Random, done: list[int], wg: "gort.sync.WaitGroup") -> None:
    n = 0
    while time.monotonic() < deadline:
        for _ in range(r.randrange(1, 40)):
            bump()
            n += 3
        spin(r.randrange(10, 200))
    done.append(n)
    wg.done()


def main() -> None:
    from gort.sync import WaitGroup

    wg = WaitGroup()
    done: list[int] = []
    sys.setprofile(prof)
    try:
        for i in range(4):
            wg.add(1)
            gort.go(worker, random.Random(seed + i), done, wg)
        wg.wait()
    finally:
        sys.setprofile(None)
    lost = sum(done) - counts["n"]
    print("lost", lost, "switches_async", gort.stats()["preempt_async"])
    if lost:
        raise SystemExit(1)


gort.run(main)
