"""multiprocessing (fork) from a goroutine, while another goroutine spins.

argv[1]: maxtasksperchild ("0": none). With 1, the pool replaces its workers
from its own handler thread, which runs no goroutines: those children have no
runtime at all.
"""
import multiprocessing
import sys

import gort


def square(x):
    gort.sleep(0.001)  # the worker's runtime schedules: the parent's spinner must not be there
    return x * x


def spin():
    while True:
        pass


def use_pool(out):
    per_child = int(sys.argv[1]) or None
    with multiprocessing.get_context("fork").Pool(2, maxtasksperchild=per_child) as pool:
        out.send(pool.map(square, range(10), chunksize=1))


gort.go(spin)
out = gort.Chan(1)
gort.go(use_pool, out)
print(out.recv())
