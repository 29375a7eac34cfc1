"""A with statement's __exit__ is the program's code, not C between frames (issue 8).

`spin`: a 0.3 s loop inside __exit__ while a 5 ms ticker runs: the ticker keeps
ticking (the exit's frame was once counted as entered from C, so it was never
preempted). `lock`: a plain Lock made before gort was imported, taken in __exit__
while another goroutine takes it in a loop: every exit gets it (it hung).
"""
import sys
import threading
import time

L = threading.Lock()  # before gort patches threading: a plain lock

import gort  # noqa: E402


class Spin:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        t = time.monotonic()
        while time.monotonic() - t < 0.3:
            pass


total = [0]


class Take:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        with L:
            total[0] += 1


def spin():
    ticks = []

    def ticker():
        for _ in range(400):
            gort.sleep(0.005)
            ticks.append(1)

    gort.go(ticker)
    gort.sleep(0.001)
    n0 = len(ticks)
    with Spin():
        pass
    print("ticks", len(ticks) - n0)


def lock():
    stop = []

    def holder():
        while not stop:
            with L:
                for _ in range(2000):
                    pass

    def user():
        for _ in range(50):
            with Take():
                pass

    gort.go(holder)
    gort.sleep(0.001)
    wg = gort.sync.WaitGroup()
    wg.go(user)
    wg.wait()
    stop.append(1)
    print("total", total[0])


gort.run({"spin": spin, "lock": lock}[sys.argv[1]])
