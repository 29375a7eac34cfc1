"""Two goroutines parse dates with strptime; _strptime's cache lock is made during the run."""
import sys

import gort
from gort.sync import WaitGroup

assert "_strptime" not in sys.modules, "the lock under test must be created inside the run"
import datetime  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
want = datetime.datetime(2024, 1, 2, 3, 4, 5)
ok = [0]
wg = WaitGroup()


def parse():
    for _ in range(N):
        d = datetime.datetime.strptime("2024-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
        if d == want:
            ok[0] += 1
    wg.done()


wg.add(2)
gort.go(parse)
gort.go(parse)
wg.wait()
print(f"parsed {ok[0]} of {2 * N}")
assert ok[0] == 2 * N
assert type(sys.modules["_strptime"]._cache_lock).__module__ == "gort.runtime.threadlock"
print("OK")
