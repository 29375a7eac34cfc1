"""A plain Lock made before the run, taken by three goroutines through other spellings than
``with lk:``/``lk.acquire()``: an alias of ``acquire``, ``__enter__``, ExitStack, a
contextlib context manager. The holder is preempted inside; the waiter blocks the thread
in the acquire until sysmon's lock-wait recovery switches it out (it hung before).
"""
import contextlib
import sys

import gort
import gort.sync

lk = __import__("threading").Lock()
acq = lk.acquire
HOW = sys.argv[1]
counter = 0


def crit():
    global counter
    x = counter
    for _ in range(5000):
        pass
    counter = x + 1


@contextlib.contextmanager
def locked():
    with lk:
        yield


def one():
    if HOW == "alias":
        acq()
        try:
            crit()
        finally:
            lk.release()
    elif HOW == "enter":
        lk.__enter__()
        try:
            crit()
        finally:
            lk.__exit__(None, None, None)
    elif HOW == "exitstack":
        with contextlib.ExitStack() as es:
            es.enter_context(lk)
            crit()
    else:
        with locked():
            crit()


def main():
    wg = gort.sync.WaitGroup()
    for _ in range(3):
        wg.go(lambda: [one() for _ in range(100)])
    wg.wait()
    print(HOW, counter)


gort.run(main)
