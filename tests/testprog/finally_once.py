"""Spinning inside try/finally and with blocks under heavy preemption: finally runs once."""
import contextlib

import gort
from gort.sync import WaitGroup

entered = []
finalized = []
exited = []


@contextlib.contextmanager
def ctx(i):
    entered.append(i)
    try:
        yield
    finally:
        exited.append(i)


def work(i, wg):
    try:
        with ctx(i):
            x = 0
            for k in range(300_000):
                x += k
    finally:
        finalized.append(i)
        wg.done()


wg = WaitGroup()
for i in range(8):
    wg.add(1)
    gort.go(work, i, wg)
wg.wait()
assert sorted(entered) == list(range(8)), entered
assert sorted(exited) == list(range(8)), exited
assert sorted(finalized) == list(range(8)), finalized
print("preempt_async", gort.stats()["preempt_async"])
print("OK")
