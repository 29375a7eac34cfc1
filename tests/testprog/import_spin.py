"""A goroutine spins at module top level during an import while others import the same module."""
import sys

import gort
from gort.sync import WaitGroup

sys.path.insert(0, __import__("os").path.dirname(__file__))
got = []
wg = WaitGroup()


def importer():
    import spinmod

    got.append(spinmod.VALUE)
    wg.done()


def spin():
    x = 0
    for _ in range(2_000_000):
        x += 1
    wg.done()


for _ in range(3):
    wg.add(1)
    gort.go(importer)
wg.add(1)
gort.go(spin)
wg.wait()
print(got)
assert got == [42, 42, 42]
print("OK")
