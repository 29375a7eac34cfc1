"""Three goroutines each leave a child greenlet suspended inside ``with lk:`` (a
threading.Lock) and drop it; its ``finally`` computes (spin) or parks (park). Two other
goroutines then collect and take the Lock (adversarial round 4, B7, n22).

Plain greenlet: a dropped suspended greenlet is killed at once (GreenletExit), so the
``finally`` and the ``with`` exit run and the Lock is free. Before: a child stayed
referenced from the scheduler frame that had switched into it, the Lock stayed held,
and the run ended in gort.Deadlock (3 runs in 4). argv[1]: spin | park.
Prints the log, the acquires' results, then OK or BAD.
"""
import gc
import sys
import threading

import greenlet

import gort
from gort.sync import WaitGroup

MODE = sys.argv[1]
lk = threading.Lock()
log: list[str] = []


def child() -> None:
    with lk:
        try:
            greenlet.getcurrent().parent.switch("suspended")
        finally:
            log.append("finally")
            if MODE == "spin":
                s = 0
                for i in range(300_000):
                    s += i
            else:
                gort.sleep(0.001)


def leaver() -> None:
    g = greenlet.greenlet(child)
    log.append(g.switch())
    # g dropped here, suspended, holding lk


def other(out: list[bool]) -> None:
    gort.sleep(0.01)
    gc.collect()
    ok = lk.acquire(timeout=5)
    out.append(ok)
    if ok:
        lk.release()


def main() -> None:
    wg = WaitGroup()
    out: list[bool] = []
    for _ in range(3):
        wg.go(leaver)
    wg.wait()
    wg2 = WaitGroup()
    for _ in range(2):
        wg2.go(other, out)
    wg2.wait()
    print(log, out)
    print("OK" if out == [True, True] and log.count("finally") == 3
          and log.count("suspended") == 3 else "BAD")


gort.run(main)
