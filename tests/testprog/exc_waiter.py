"""Exceptions a raising SIGALRM handler (every 0.5 ms) leaves for main while main
contends for a threading.Lock or RLock with three goroutines: main parks in the
acquire, is handed the lock, is interrupted in its with body or at its exit. The
handler raises only while main is inside its ``try`` (a flag main sets there and clears
as the try's last statement), so in CPython every exception lands inside the try.

Adversarial round 10, F2 (a run in most at a 50 us slice, 3.11 and 3.13): an exception
left while main's wait had already completed was raised at main's next safe point, a
slice later, often outside the try ("Alarm escaped"); and the preemption hook raised
one at a with block's exit before __exit__ ran, leaving the lock held (main re-entered
its RLock forever, the workers starved).

argv[1]: lock | rlock. Prints the counter and whether the lock is free, then OK; BAD
if the counter is off, the lock stayed held or an Alarm escaped.
"""
import signal
import sys
import threading

import gort
import gort.sync

KIND = sys.argv[1]
lk = threading.Lock() if KIND == "lock" else threading.RLock()
N = 3000
c = [0]
armed = [False]


class Alarm(Exception):
    pass


def handler(signum: int, frame: object) -> None:
    if armed[0]:
        armed[0] = False
        raise Alarm


def worker(wg: gort.sync.WaitGroup) -> None:
    for _ in range(N):
        with lk:
            x = c[0]
            for _ in range(60):
                pass
            c[0] = x + 1
    wg.done()


def main() -> bool:
    wg = gort.sync.WaitGroup()
    wg.add(3)
    for _ in range(3):
        gort.go(worker, wg)
    done = [False]

    def waiter() -> None:
        wg.wait()
        done[0] = True

    gort.go(waiter)
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    while True:
        try:
            if done[0]:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                gort.sleep(0.01)
                break
            armed[0] = True
            with lk:
                for _ in range(60):
                    pass
            armed[0] = False
        except Alarm:
            pass
    free = lk.acquire(timeout=2)
    if free and KIND == "rlock":
        free = lk._recursion_count() == 1  # type: ignore[attr-defined]
    print(f"counter {c[0]} lock free {free}")
    ok = c[0] == 3 * N and free
    print("OK" if ok else "BAD")
    return ok


try:
    ok = gort.run(main)
except Alarm:
    import traceback

    traceback.print_exc()  # where it was raised: the test shows it
    print("BAD: Alarm escaped main's try")
    sys.exit(1)
sys.exit(0 if ok else 1)
