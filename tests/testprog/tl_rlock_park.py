"""A goroutine parks while its thread owns a plain RLock made before gort was imported
(issue 8): the one way left for a second goroutine to enter such a lock. gort reports it
on stderr, once per lock. Run as a plain script; argv[1] "with", "acquire" (a sleep
inside the section) or "chan" (a channel receive inside). Under ``gort run`` the locks
are made after gort is imported: goroutine-aware, nothing to report.
"""

import sys
import threading

LOCK = threading.RLock()  # before `import gort`: CPython's thread-owned RLock
OTHER = threading.RLock()  # made then too, never held across a park: no report

import gort  # noqa: E402

HOW = sys.argv[1]
CH: gort.Chan[int] = gort.Chan()


def holder() -> None:
    for _ in range(3):
        if HOW == "chan":
            with LOCK:
                CH.recv()
        elif HOW == "with":
            with LOCK:
                gort.sleep(0.001)
        else:
            LOCK.acquire()
            gort.sleep(0.001)
            LOCK.release()
        with OTHER:
            pass


def main() -> None:
    wg = gort.sync.WaitGroup()
    wg.go(holder)
    wg.go(holder)
    if HOW == "chan":
        for _ in range(6):
            gort.sleep(0.001)
            CH.send(1)
    wg.wait()
    print("done")


gort.run(main)
