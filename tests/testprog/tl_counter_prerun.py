"""Two goroutines increment a counter under an RLock (or a Condition) made before gort
was imported and kept in an instance: a plain, thread-owned lock that the goroutines
of the thread could all enter. Run with plain python (the implicit runtime starts later).
"""
import sys
import threading
import time

kind = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000


class Account:
    def __init__(self):
        self.lock = threading.RLock() if kind == "rlock" else threading.Condition()
        self.n = 0


acct = Account()  # before gort patches threading
assert type(acct.lock).__module__ in ("_thread", "threading"), type(acct.lock)

import gort  # noqa: E402
from gort.sync import WaitGroup  # noqa: E402


def work(wg):
    a = acct
    for _ in range(N):
        with a.lock:
            x = a.n
            for _ in range(200):
                pass
            a.n = x + 1
    wg.done()


def main():
    t0 = time.monotonic()
    wg = WaitGroup()
    wg.add(2)
    gort.go(work, wg)
    gort.go(work, wg)
    wg.wait()
    print(f"counter {acct.n} expect {2 * N}")
    assert acct.n == 2 * N
    deferred = gort.stats()["preempt_deferred"]
    if not deferred.get("thread lock held", 0):  # say what sysmon saw (a rare failure)
        from gort.runtime import sched
        s = sched.current
        pp = s.allp[0]
        pd = pp.sysmontick
        raise AssertionError((deferred, gort.stats(), time.monotonic() - t0,
                              {k: getattr(pd, k) for k in pd.__slots__},
                              pp.schedtick, pp.schedwhen, time.monotonic_ns()))
    print("OK")


gort.run(main)
