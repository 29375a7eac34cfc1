"""Seeded stress of goroutine-aware thread locks: goroutines and two plain threads share
Locks, RLocks, a Condition and a queue.Queue under a short slice; every counter exact.

    python -m gort run tests/testprog/tl_stress.py SEED [ROUNDS]
"""
import queue
import random
import sys
import threading
import time

import gort
from gort.sync import WaitGroup

seed = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
rng = random.Random(seed)
NG = 8
locks = [threading.Lock(), threading.Lock()]
rlocks = [threading.RLock(), threading.RLock()]
counts = [0, 0, 0, 0]
cond = threading.Condition()
ready = [0]
q = queue.Queue(maxsize=4)
received = [0]
plans = [[rng.randrange(5) for _ in range(rounds)] for _ in range(NG)]
wg = WaitGroup()


def bump(i, spin):
    x = counts[i]
    for _ in range(spin):
        pass
    counts[i] = x + 1


def worker(plan):
    local_rng = random.Random(plan[0] * 7919 + len(plan))
    for op in plan:
        spin = local_rng.randrange(50)
        if op == 0:
            with locks[0]:
                bump(0, spin)
        elif op == 1:
            if locks[1].acquire(timeout=0.001):
                try:
                    bump(1, spin)
                finally:
                    locks[1].release()
            else:
                with locks[1]:
                    bump(1, spin)
        elif op == 2:
            with rlocks[0], rlocks[0]:
                bump(2, spin)
        elif op == 3:
            with rlocks[1]:
                if local_rng.random() < 0.5:
                    gort.sleep(0)
                bump(3, spin)
        else:
            with cond:
                ready[0] += 1
                cond.notify()
    wg.done()


def consumer(n):
    for _ in range(n):
        received[0] += q.get()


def thread_worker(n):
    for _ in range(n):
        with locks[0]:
            bump(0, 10)
        with rlocks[1]:
            bump(3, 10)
        q.put(1)
        time.sleep(0.0001)


expected = [sum(p.count(k) for p in plans) for k in range(4)]
TH = 200
wg.add(NG)
for p in plans:
    gort.go(worker, p)
gort.go(consumer, 2 * TH)
threads = [threading.Thread(target=thread_worker, args=(TH,)) for _ in range(2)]
for t in threads:
    t.start()
with cond:
    while ready[0] < sum(p.count(4) for p in plans):
        cond.wait(0.05)
wg.wait()
gort.offload(lambda: [t.join() for t in threads])
while received[0] < 2 * TH:
    gort.sleep(0.001)
expected[0] += 2 * TH
expected[3] += 2 * TH
print(f"seed {seed}: counts {counts} expected {expected} received {received[0]}")
assert counts == expected and received[0] == 2 * TH
print("OK")
