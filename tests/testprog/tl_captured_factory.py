"""Lock factories captured before gort was imported, outside module namespaces (issue 8).

Run as a plain script: every capture below happens before `import gort`, in the
places a library keeps a factory (a defaultdict, a dataclass default_factory, a
class attribute, a staticmethod/classmethod, an instance's slot, a default argument, a keyword-only
default, a closure, a functools.partial, an instance attribute). `import gort`
rebinds them all, so each lock made in the run is goroutine-aware. For each
place the program prints the kind made and the count of two goroutines
incrementing under the lock with a park inside the section (a plain RLock lets
the second goroutine in: the count comes out short; a plain Lock blocks the
thread until sysmon's recovery), then "ok". The factories are the C ones gort
replaces (``threading.Lock`` is ``_thread.allocate_lock``; ``threading.RLock``,
a Python function that looks ``_CRLock`` up per call, needs no rebinding).
"""

import _thread
import collections
import dataclasses
import functools
import threading


@dataclasses.dataclass
class Account:
    n: int = 0
    lock: object = dataclasses.field(default_factory=_thread.RLock)


class Holder:
    factory = threading.Lock
    static = staticmethod(_thread.RLock)
    klass = classmethod(lambda cls, f=threading.Lock: f())

    def __init__(self) -> None:
        self.make = _thread.RLock


def default_arg(f=_thread.RLock):  # type: ignore[no-untyped-def]
    return f()


def kw_default(*, f=threading.Lock):  # type: ignore[no-untyped-def]
    return f()


def closure():  # type: ignore[no-untyped-def]
    f = _thread.RLock
    return lambda: f()


LOCKS = collections.defaultdict(threading.Lock)
RLOCKS = collections.defaultdict(_thread.RLock)
PARTIAL = functools.partial(_thread.RLock)
class Slotted:
    __slots__ = ("make",)

    def __init__(self) -> None:
        self.make = threading.Lock


HOLDER = Holder()
SLOTTED = Slotted()
CLOSURE = closure()
LOCAL = collections.defaultdict(threading.local)

import gort  # noqa: E402 - the point: everything above was captured before

N = 500
MAKERS = {
    "dataclass": lambda: Account().lock,
    "defaultdict": lambda: LOCKS["k"],
    "defaultdict-rlock": lambda: RLOCKS["k"],
    "class-attr": lambda: Holder.factory(),
    "staticmethod": lambda: Holder.static(),
    "classmethod": lambda: Holder.klass(),
    "instance-attr": lambda: HOLDER.make(),
    "slot": lambda: SLOTTED.make(),
    "default-arg": default_arg,
    "kw-default": kw_default,
    "closure": CLOSURE,
    "partial": PARTIAL,
}


def count_with(lk: object) -> int:
    total = [0]
    wg = gort.sync.WaitGroup()

    def worker() -> None:
        for _ in range(N):
            lk.acquire()  # type: ignore[attr-defined]
            try:
                x = total[0]
                gort.sleep(0)  # a park inside the section: the other goroutine runs
                total[0] = x + 1
            finally:
                lk.release()  # type: ignore[attr-defined]

    wg.go(worker)
    wg.go(worker)
    wg.wait()
    return total[0]


def main() -> None:
    for name, make in MAKERS.items():
        lk = make()
        print(name, type(lk).__module__, type(lk).__name__, count_with(lk))
    print("local", type(LOCAL["k"]).__module__, type(LOCAL["k"]).__name__)
    print("ok")


gort.run(main)
