"""Two goroutines increment a counter under one threading.Lock or RLock, spinning inside."""
import sys
import threading

import gort
from gort.sync import WaitGroup

kind = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
lock = threading.Lock() if kind == "lock" else threading.RLock()
counter = 0
wg = WaitGroup()


def work():
    global counter
    for _ in range(N):
        with lock:
            x = counter
            for _ in range(200):
                pass
            counter = x + 1
    wg.done()


wg.add(2)
gort.go(work)
gort.go(work)
wg.wait()
print(f"counter {counter} expect {2 * N}")
assert counter == 2 * N
print("OK")
