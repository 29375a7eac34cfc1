"""Two goroutines import two modules that import each other and park: importlib's
deadlock detection sees two owners and lets one through, as with two threads (no hang)."""
import os
import sys

import gort
from gort.sync import WaitGroup

sys.path.insert(0, os.path.dirname(__file__))
done = []
wg = WaitGroup()


def imp(name):
    __import__(name)
    done.append(name)
    wg.done()


wg.add(2)
gort.go(imp, "parkcyc_a")
gort.go(imp, "parkcyc_b")
wg.wait()
print(sorted(done), sys.modules["parkcyc_a"].A, sys.modules["parkcyc_b"].B)
assert sorted(done) == ["parkcyc_a", "parkcyc_b"]
print("OK")
