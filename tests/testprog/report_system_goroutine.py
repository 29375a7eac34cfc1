"""A finalizer that computes for 1.5 CPU seconds, beside a goroutine that wants to run: sysmon's
report names the goroutine it blames. It is the finalizer goroutine, whose number
(2147483649 and up) the program never saw (adversarial round 5, B5's report): the
headline says what it is. Prints "done" at the end; the report goes to stderr.
"""
import time

import gort


class Slow:
    def __init__(self) -> None:
        self.me = self  # a cycle: freed by a collection, in the finalizer goroutine

    def __del__(self) -> None:
        t = time.thread_time()  # CPU seconds: sysmon's measure (a loaded machine)
        while time.thread_time() - t < 1.5:
            pass


def ticker(out: list[int]) -> None:
    for _ in range(5):
        gort.sleep(0.01)
        out.append(1)


def main() -> None:
    out: list[int] = []
    gort.go(ticker, out)
    Slow()  # garbage in a cycle
    junk = [[] for _ in range(20_000)]  # allocations: a collection comes due
    while len(out) < 5:
        gort.sleep(0.01)
    del junk
    while len(out) < 5:
        gort.sleep(0.01)
    print("done")


gort.run(main)
