"""Cyclic garbage whose __del__ waits for a lock made before gort, which worker
goroutines hold (bare acquire/release) while they spin: no hang, every finalizer runs.

    GORT_PREEMPT_NS=50000 python tests/testprog/fin_raw_lock.py

The finalizer goroutine, waiting in a __del__ its collection runs, blocked the thread
while the worker holding the lock waited to run (adversarial round 12, finding 4: every
run at a 50 us slice). Prints "n 6000 fin F made F".
"""
import gc
import sys
import threading

L = threading.Lock()  # before gort: a raw thread lock

import gort  # noqa: E402

shared = {"n": 0, "fin": 0}


class Node:
    def __init__(self):
        self.me = self  # a cycle: only a collection frees it

    def __del__(self):
        L.acquire()
        shared["fin"] += 1
        L.release()


made = [0]


def worker():
    for i in range(2000):
        L.acquire()
        x = shared["n"]
        for _ in range(100):
            pass
        shared["n"] = x + 1
        L.release()
        if i % 3 == 0:
            Node()
            made[0] += 1
        [[j] for j in range(20)]  # allocations: collections come due


def main():
    wg = gort.sync.WaitGroup()
    for _ in range(3):
        wg.go(worker)
    wg.wait()
    # A collection suspended in a finalizer makes gc.collect() return at once, as
    # another thread's does in CPython: ask again until every finalizer has run.
    for _ in range(10_000):
        if shared["fin"] == made[0]:
            break
        gc.collect()
        gort.sleep(0.001)
    print(f"n {shared['n']} fin {shared['fin']} made {made[0]}")
    sys.exit(0 if shared["n"] == 6000 and shared["fin"] == made[0] else 1)


gort.run(main)
