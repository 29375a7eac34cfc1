"""Plain RLocks made before gort was imported, kept anywhere, taken by explicit acquire (issue 8).

Run as a plain script: the RLocks below are CPython's thread-owned ones (made
before ``import gort``), kept in a list, a dict, an instance, a slot and a
closure, and the sections take them with ``acquire()``/``release()``, not
``with``. Two goroutines increment a counter under each, computing inside the
section; a preemption inside would let the other goroutine of the same thread
walk into the RLock (the count comes out short). Prints each place's count
(2 * N expected) and "OK"; argv[1] "cond" uses a Condition over the RLock.
"""

import sys
import threading

KIND = sys.argv[1] if len(sys.argv) > 1 else "rlock"


def make() -> object:
    return threading.Condition(threading.RLock()) if KIND == "cond" else threading.RLock()


class Box:
    def __init__(self) -> None:
        self.lock = make()


class Slotted:
    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = make()


def closure():  # type: ignore[no-untyped-def]
    lk = make()
    return lambda: lk


IN_LIST = [make()]
IN_DICT = {"k": make()}
BOX = Box()
SLOTTED = Slotted()
CLOSURE = closure()

import gort  # noqa: E402 - the point: the locks above are plain

N = 3000
PLACES = {
    "list": lambda: IN_LIST[0],
    "dict": lambda: IN_DICT["k"],
    "instance": lambda: BOX.lock,
    "slot": lambda: SLOTTED.lock,
    "closure": CLOSURE,
}


def count(get: object) -> int:
    total = [0]

    def worker() -> None:
        for _ in range(N):
            lk = get()  # type: ignore[operator]
            lk.acquire()
            x = total[0]
            for _ in range(300):
                pass
            total[0] = x + 1
            lk.release()

    wg = gort.sync.WaitGroup()
    wg.go(worker)
    wg.go(worker)
    wg.wait()
    return total[0]


def main() -> None:
    bad = []
    for name, get in PLACES.items():
        got = count(get)
        print(name, got)
        if got != 2 * N:
            bad.append(name)
    deferred = gort.stats()["preempt_deferred"]
    print("deferred", sum(v for k, v in deferred.items() if k.startswith("thread lock held")) > 0)
    print("WRONG" if bad else "OK")


gort.run(main)
