"""A signal handler run at once on main takes a lock a computing goroutine holds.

argv[1]: lock | rlock | cond. A worker goroutine holds a threading lock (made under gort:
goroutine-aware) while it computes; main computes in a loop of plain bytecode (signals
land at its back edge, where main could be switched out); SIGALRM comes every 2 ms and
its handler does `with lk:` (and notify_all for cond). With threads this is correct
code: the handler waits for the worker's release. Under gort main parks inside the
handler (before: RuntimeError "a blocking call ... in a signal handler" in most calls).
Prints the handler's failures (0), whether it ran, and whether mutual exclusion held.
"""
import signal
import sys
import threading

import gort

KIND = sys.argv[1]
lk = threading.RLock() if KIND == "rlock" else threading.Lock()
cv = threading.Condition(lk)
inside = [0]
state = {"handled": 0, "failed": 0, "overlap": 0, "worked": 0}


def handler(signum, frame):
    try:
        with lk:
            if inside[0]:
                state["overlap"] += 1
            state["handled"] += 1
            if KIND == "cond":
                cv.notify_all()
    except RuntimeError:
        state["failed"] += 1


def worker(stop, done):
    while not stop:
        with lk:
            inside[0] = 1
            for _ in range(2000):
                pass
            inside[0] = 0
            state["worked"] += 1
    done.close()


def main():
    stop, done = [], gort.Chan()
    signal.signal(signal.SIGALRM, handler)
    gort.go(worker, stop, done)
    signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
    x = 0
    for i in range(30_000_000):
        x += i
        if state["handled"] >= 100:
            break
    signal.setitimer(signal.ITIMER_REAL, 0)
    stop.append(1)
    done.recv_ok()
    print("failed", state["failed"], "handled", state["handled"] >= 100,
          "overlap", state["overlap"], "worked", state["worked"] > 0)


gort.run(main)
