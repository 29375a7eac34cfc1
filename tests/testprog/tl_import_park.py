"""Goroutines import a module that parks at import time: none sees it half-initialised."""
import os
import sys

import gort
from gort.sync import WaitGroup

sys.path.insert(0, os.path.dirname(__file__))
assert "parkmod" not in sys.modules
got = []
wg = WaitGroup()


def importer():
    import parkmod

    got.append(parkmod.VALUE)
    wg.done()


wg.add(3)
for _ in range(3):
    gort.go(importer)
wg.wait()
print(got)
assert got == [42, 42, 42]
print("OK")
