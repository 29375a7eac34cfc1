"""The resource-pool pattern (issue 9): __del__ returns a token with a non-blocking send.

argv[1]: generation-0 threshold to set (a low one makes collections come due
often, and, before the finalizer goroutine, on sysmon's thread too). Workers
take tokens, wrap each in a self-referencing Conn, and drop it; only the
cyclic collector returns the token. Prints tokens back in the pool, tokens
lost (the default case taken), errors raised in finalizers, and the threads
finalizers ran on.
"""

import gc
import sys
import threading
import time

import gort

TOKENS = 40
WORKERS = 20
ROUNDS = 150

gc.set_threshold(int(sys.argv[1]) if len(sys.argv) > 1 else 700)
pool: gort.Chan[int] = gort.Chan(TOKENS)
for t in range(TOKENS):
    pool.send(t)
lost = 0
errors: list[str] = []
threads: set[str] = set()
sys.unraisablehook = lambda u: errors.append(f"{u.exc_type.__name__}: {u.exc_value}")


class Conn:
    def __init__(self, tok: int) -> None:
        self.tok = tok
        self.me = self
        self.pad = [[] for _ in range(5)]

    def __del__(self) -> None:
        global lost
        threads.add(threading.current_thread().name)
        i, _ = gort.select((pool.send, self.tok), gort.default)
        if i == 1:
            lost += 1


def junk() -> None:
    for _ in range(50):
        x: list[object] = []
        x.append(x)


def worker(wg: gort.sync.WaitGroup) -> None:
    for _ in range(ROUNDS):
        while True:
            i, tok = gort.select(pool.recv, gort.default)
            if i == 0:
                break
            junk()  # every token is in garbage: make more, and a collection comes due
            gort.sleep(0)
        Conn(tok)
        gort.sleep(0)
    wg.done()


wg = gort.sync.WaitGroup()
for _ in range(WORKERS):
    wg.add(1)
    gort.go(worker, wg)
wg.wait()
deadline = time.monotonic() + 1
while len(pool) < TOKENS and time.monotonic() < deadline:
    junk()
    gort.sleep(0.001)
# A Conn still referenced at a collection (its worker was preempted between making and
# dropping it) can be promoted to generation 2, which CPython's heuristic collects only
# once enough objects were promoted: collect it here, in this goroutine.
late = TOKENS - len(pool)
gc.collect()
print(f"pool={len(pool)} lost={lost} errors={len(errors)} threads={sorted(threads)}")
print(f"late={late}")
for e in errors[:3]:
    print(e)
