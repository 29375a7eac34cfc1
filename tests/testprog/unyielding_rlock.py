"""A goroutine parks inside `with lk:` on a module RLock made before gort was imported;
another spins. Preemption must wait while the thread owns the RLock, so the program cannot
go on: gort reports it on stderr once, instead of hanging silently. (The test kills it.)
"""
import threading

lk = threading.RLock()  # before gort patches threading: a plain, thread-owned RLock

import gort  # noqa: E402


def holder(ch):
    with lk:
        ch.recv()


def spin():
    while True:
        pass


def main():
    ch = gort.Chan()
    gort.go(holder, ch)
    gort.sleep(0.001)
    gort.go(spin)
    gort.sleep(0.005)  # never returns: the spinner keeps the thread
    ch.send(1)


gort.run(main)
