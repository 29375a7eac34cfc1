"""Plain RLocks made before gort was imported, kept anywhere, taken by explicit acquire (issue 8).

Run as a plain script: the RLocks below are CPython's thread-owned ones (made
before ``import gort``), kept in a list, a dict, an instance, a slot and a
closure, and the sections take them with ``acquire()``/``release()``, not
``with``. Two goroutines increment a counter under each, computing inside the
section; a preemption inside would let the other goroutine of the same thread
walk into the RLock (the count comes out short). Prints each place's count
("right", or how many of how many) and "OK"; argv[1] "cond" uses a Condition over the RLock.
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


def held_deferrals() -> int:
    return sum(v for k, v in gort.stats()["preempt_deferred"].items()
               if k.startswith("thread lock held"))


def count(get: object) -> tuple[int, int]:
    """(increments counted under the lock, increments made); at least N per worker, and
    on until a preemption was refused inside the section (on a loaded machine sysmon's
    thread may not get a CPU before N are done; capped)."""
    total = [0]
    made = [0]
    before = held_deferrals()

    def worker() -> None:
        i = 0
        while i < N or (i < 50 * N and not (i % 500 == 0 and held_deferrals() > before)):
            lk = get()  # type: ignore[operator]
            lk.acquire()
            x = total[0]
            for _ in range(300):
                pass
            total[0] = x + 1
            lk.release()
            i += 1
        made[0] += i

    wg = gort.sync.WaitGroup()
    wg.go(worker)
    wg.go(worker)
    wg.wait()
    return total[0], made[0]


def main() -> None:
    bad = []
    for name, get in PLACES.items():
        got, made = count(get)
        print(name, "right" if got == made else f"{got} of {made}")
        if got != made:
            bad.append(name)
    print("deferred", held_deferrals() > 0)
    print("WRONG" if bad else "OK")


gort.run(main)
