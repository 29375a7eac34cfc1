"""Ctrl-C while main computes alone (issue 9 adversarial pass): the handler ran on a
worker's stack and handed KeyboardInterrupt to main, to raise at main's next safe point;
main then computed with nothing else runnable, so sysmon never preempted it and the
exception was lost (exit 0). Prints PASS when main's except runs."""
import os
import signal
import time

import gort


def main():
    c = gort.Chan()

    def worker():
        c.recv()
        os.kill(os.getpid(), signal.SIGINT)
        x = 0
        for i in range(200000):
            x += i

    def compute():
        # In a function of its own: CPython 3.13's exception table leaves a while loop's
        # back-edge outside the enclosing try, so an exception raised there (where a
        # preemption delivers it) would escape main's except; from a callee it is caught.
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            pass

    gort.go(worker)
    try:
        c.send(1)
        compute()
        print("FAIL: KeyboardInterrupt not delivered during 1 s of computing")
    except KeyboardInterrupt:
        print("PASS")


main()
