"""Two goroutines parse dates with strptime; _strptime's cache lock is made during the run.

Each goroutine counts its own results: a shared `ok[0] += 1` from two goroutines is the
program's own data race (as `ok++` is in Go), and on 3.13 under load a preemption hook
switched one out inside it (about 1 run in 60: "parsed 9974 of 10000" with every parse
correct; stop 25's local CI), which is not what this program tests.
"""
import sys

import gort
from gort.sync import WaitGroup

assert "_strptime" not in sys.modules, "the lock under test must be created inside the run"
import datetime  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
want = datetime.datetime(2024, 1, 2, 3, 4, 5)
ok = [0, 0]
wg = WaitGroup()


def parse(i):
    for _ in range(N):
        d = datetime.datetime.strptime("2024-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
        if d == want:
            ok[i] += 1
    wg.done()


wg.add(2)
gort.go(parse, 0)
gort.go(parse, 1)
wg.wait()
print(f"parsed {sum(ok)} of {2 * N}")
assert sum(ok) == 2 * N
assert type(sys.modules["_strptime"]._cache_lock).__module__ == "gort.runtime.threadlock"
print("OK")
