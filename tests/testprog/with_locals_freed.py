"""A goroutine preempted inside a ``with`` block frees its locals when it drops them (issue 8, F7).

The preemption check reads the ``with`` block's manager from the frame's locals. On
3.11 and 3.12, reading them through ``frame.f_locals`` left a snapshot of every local
on the frame, so an object the goroutine then deleted stayed alive (its ``__del__``
ran after the goroutine went on). Prints the order of events and "OK".
"""

import contextlib

import gort

events: list[str] = []


class Resource:
    def __del__(self) -> None:
        events.append("freed")


def spin(n: int) -> None:
    for _ in range(n):
        pass


def holder() -> None:
    cm = contextlib.nullcontext()
    with cm:
        res = Resource()
        before = gort.stats()["preempt_async"]
        while gort.stats()["preempt_async"] < before + 3:  # preempted inside the block
            spin(2000)
        del res
        events.append("after del")


def other() -> None:
    while "after del" not in events:
        spin(2000)


def main() -> None:
    wg = gort.sync.WaitGroup()
    wg.go(other)
    wg.go(holder)
    wg.wait()
    print(events)
    print("OK" if events == ["freed", "after del"] else "WRONG")


gort.run(main)
