"""First use of tempfile.mkstemp from 20 goroutines beside 3 spinners (imported in the run)."""
import os
import sys

import gort
from gort.sync import WaitGroup

assert "tempfile" not in sys.modules, "the lock under test must be created inside the run"
import tempfile  # noqa: E402

stop = [False]
paths = []
wg = WaitGroup()


def spin():
    while not stop[0]:
        pass


def make():
    fd, path = tempfile.mkstemp()
    os.close(fd)
    paths.append(path)
    wg.done()


for _ in range(3):
    gort.go(spin)
wg.add(20)
for _ in range(20):
    gort.go(make)
wg.wait()
stop[0] = True
for p in paths:
    os.unlink(p)
print(f"made {len(set(paths))}")
assert len(set(paths)) == 20
print("OK")
