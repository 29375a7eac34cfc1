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

done = [0, 0]


def deferred_yet():
    return gort.stats()["preempt_deferred"].get("thread lock held", 0) > 0


def work(wg, me):
    # At least N increments, and on until a preemption was refused inside the section
    # (on a loaded machine sysmon's thread may not get a CPU before N are done; capped).
    a = acct
    i = 0
    while i < N or (i < 50 * N and not (i % 1000 == 0 and deferred_yet())):
        with a.lock:
            x = a.n
            for _ in range(200):
                pass
            a.n = x + 1
        i += 1
    done[me] = i
    wg.done()


def main():
    t0 = time.monotonic()
    wg = WaitGroup()
    wg.add(2)
    gort.go(work, wg, 0)
    gort.go(work, wg, 1)
    wg.wait()
    print(f"counter {'right' if acct.n == sum(done) else acct.n - sum(done)}")
    assert acct.n == sum(done), (acct.n, done)
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
