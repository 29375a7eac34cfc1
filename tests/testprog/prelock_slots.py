"""The main goroutine waits for a Lock made before `import gort`, held by a goroutine
that computes (switched out holding it), from inside a special method that an operator,
an f-string or a built-in calls: `c[k]`, `c + 1`, `1 + c`, `c == d`, a dict key's
`__eq__`, `f"{c}"`, `len(c)`, `if c:`, `for x in c`, `x in c` (helper-74, F3). Only
CPython's slot machinery is between the two frames there, so the waiter is switched out
inside its wait and the holder runs, as for a property. Before, each blocked the thread
for good (sysmon's report after a second, then nothing).

Prints the cases done and OK.
"""
import threading

LK = threading.Lock()

import gort  # noqa: E402  (the lock above is made before gort, on purpose)


class C:
    def __getitem__(self, k: object) -> object:
        with LK:
            return k

    def __add__(self, o: object) -> int:
        with LK:
            return 1

    def __radd__(self, o: object) -> int:
        with LK:
            return 2

    def __eq__(self, o: object) -> bool:
        with LK:
            return True

    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        with LK:
            return "c"

    def __len__(self) -> int:
        with LK:
            return 1

    def __iter__(self) -> object:
        with LK:
            return iter([1])

    def __contains__(self, x: object) -> bool:
        with LK:
            return True


def holder(started: list[bool]) -> None:
    LK.acquire()
    started[0] = True
    s = 0
    for i in range(1_000_000):
        s += i  # switched out here, holding LK
    LK.release()


def main() -> None:
    c = C()
    key = {C(): "v"}
    cases = {
        "getitem": lambda: c[1],
        "add": lambda: c + 1,
        "radd": lambda: 1 + c,
        "eq": lambda: c == 2,
        "dict key": lambda: key[c],
        "fstring": lambda: f"{c}",
        "len": lambda: len(c),
        "bool": lambda: 1 if c else 0,
        "iter": lambda: list(c),
        "contains": lambda: 1 in c,
    }
    done = []
    for name, case in cases.items():
        started = [False]
        gort.go(holder, started)
        while not started[0]:
            gort.sleep(0.001)
        case()
        done.append(name)
    while LK.locked():
        gort.sleep(0.001)
    print(len(done), "OK")


gort.run(main)
