"""A Lock made before ``import gort``, acquired by C code on the program's behalf: the
documented limit (docs/design.md). The holder stops holding it; the waiter blocks the
only thread for good. What is checked is sysmon's report (stderr), which must name the
lock wait and show the holder's real stack.

argv[1]: methodcaller (operator.methodcaller("acquire")(LK): a futex wait sysmon cannot
name), sorted-key (sorted(key=lambda _: LK.acquire()): a lock wait inside a C callback),
greenlet (as methodcaller, the holder preempted inside a child greenlet of its own).
argv[2]: preempted (the holder spins, switched out by preemption) or parked (it sleeps).

A watchdog thread ends the process (exit 3) once the report is out, or after 20 s.
"""

import operator
import sys
import threading

LK = threading.Lock()
MC_ACQ = operator.methodcaller("acquire")

import _thread  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import greenlet  # noqa: E402

import gort  # noqa: E402
from gort.runtime import running  # noqa: E402

HOW, HOLDER = sys.argv[1], sys.argv[2]
held = [False]


def watchdog() -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        time.sleep(0.05)
        s = running()
        if s is not None and s.stats.blocked_reports:
            break
    time.sleep(0.05)
    sys.stderr.flush()
    os._exit(3)


def holder_spin_here() -> None:
    MC_ACQ(LK)
    held[0] = True
    if HOLDER == "parked":
        gort.sleep(0.05)  # due while the waiter blocks the thread: sysmon then looks
    while True:
        pass


def holder() -> None:
    if HOW == "greenlet":
        greenlet.greenlet(holder_spin_here).switch()
    else:
        holder_spin_here()


def waiter() -> None:
    while not held[0]:
        gort.sleep(0.001)
    if HOW == "sorted-key":
        sorted([0], key=lambda _: LK.acquire())
    else:
        MC_ACQ(LK)
    print("WRONG: the waiter got the lock")


def main() -> None:
    _thread.start_new_thread(watchdog, ())
    gort.go(holder)
    gort.go(waiter)
    gort.sleep(30)


gort.run(main)
