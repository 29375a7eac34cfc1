"""The cost of running the cyclic collector in the finalizer goroutine (mfinal.py).

    python bench/gc_cost.py pingpong 30000   # CPU ns of the M's thread per round trip
    python bench/gc_cost.py alloc 40000      # CPU ns per item: 2 producers, 1 consumer,
                                             # every item a self-referencing object

Prints one number. CPU time of the M's thread (time.thread_time_ns), not wall
time, so that a loaded machine does not swamp the difference; compare commits
by running them interleaved (PYTHONPATH=<other tree>/src) and taking medians.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import gort


def pingpong(n: int) -> float:
    def main() -> float:
        a: gort.Chan[int] = gort.Chan()
        b: gort.Chan[int] = gort.Chan()

        def pong() -> None:
            for v in a:
                b.send(v)

        gort.go(pong)
        t = time.thread_time_ns()
        for i in range(n):
            a.send(i)
            b.recv()
        dt = time.thread_time_ns() - t
        a.close()
        return dt / n

    return gort.run(main)


class Node:
    __slots__ = ("next", "payload")

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.next = self  # a cycle: only the collector frees it


def alloc(n: int) -> float:
    def main() -> float:
        ch: gort.Chan[Node] = gort.Chan(64)
        done: gort.Chan[Any] = gort.Chan()

        def producer(k: int) -> None:
            for i in range(n // 2):
                ch.send(Node([i, {"k": k}, (i, k)]))
            done.send(None)

        def consumer() -> None:
            total = 0
            for node in ch:
                total += node.payload[0]
            done.send(total)

        gort.go(producer, 0)
        gort.go(producer, 1)
        gort.go(consumer)
        t = time.thread_time_ns()
        done.recv()
        done.recv()
        ch.close()
        done.recv()
        return (time.thread_time_ns() - t) / n

    return gort.run(main)


if __name__ == "__main__":
    case = {"pingpong": pingpong, "alloc": alloc}[sys.argv[1]]
    print(f"{case(int(sys.argv[2])):.0f}")
