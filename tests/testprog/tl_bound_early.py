"""Locks made from names bound before gort was imported (issue 8, F3).

Run as a plain script (not under `gort run`, which imports gort first): the
`from threading import ...` below happens before `import gort`. Prints the
lock kinds, two exact counts and "ok".
"""

import functools
import sys
from threading import Lock, RLock, local  # bound before gort is imported

import gort
from gort.runtime import threadlock

N = 2000


def count_with(lk: object) -> int:
    total = [0]
    wg = gort.sync.WaitGroup()

    def worker() -> None:
        for _ in range(N):
            lk.acquire()  # type: ignore[attr-defined]
            try:  # explicit acquire/release: no with block for the preemption side to see
                x = total[0]
                for _ in range(200):
                    pass
                if x % 97 == 0:
                    gort.sleep(0)  # a park inside the section, too
                total[0] = x + 1
            finally:
                lk.release()  # type: ignore[attr-defined]
        wg.done()

    wg.add(2)
    gort.go(worker)
    gort.go(worker)
    wg.wait()
    return total[0]


class Slow:
    calls = 0

    @functools.cached_property
    def value(self) -> int:
        Slow.calls += 1
        gort.sleep(0.01)  # the second goroutine arrives while the first computes
        return 42


def main() -> None:
    print(type(Lock()).__name__, type(RLock()).__name__, type(local()).__name__)
    print(count_with(Lock()) * 10, count_with(RLock()) * 10)
    if sys.version_info < (3, 12):  # only 3.11's cached_property takes an RLock
        assert functools.RLock is threadlock.RLock, functools.RLock  # type: ignore[attr-defined]
        obj = Slow()
        got: list[int] = []
        wg = gort.sync.WaitGroup()
        for _ in range(2):
            wg.go(lambda: got.append(obj.value))
        wg.wait()
        assert got == [42, 42] and Slow.calls == 1, (got, Slow.calls)
    print("ok")


gort.run(main)
