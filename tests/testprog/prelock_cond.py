"""A threading.Condition over a plain Lock made before `import gort` (as any object a
program builds before importing gort), used by three goroutines that compute inside
`with cv:` around `cv.wait(timeout)`; run as plain `python`, not `gort run` (which
imports gort first). Condition.wait releases the Lock and takes it back in
threading.py's _acquire_restore.

Adversarial round 10, finding 1 (hung at a 50 us slice in most runs, 3.11 and 3.13):
a hook armed under Condition.wait fired once wait had taken the Lock back and switched
the goroutine out holding it; the next goroutine blocked the thread in
_acquire_restore, and sysmon's lock-wait recovery refused to switch it out because the
Lock, locked by the holder, sat in the waiter's own `with cv:`.

argv[1]: "with" (`with cv:` around the wait) or "timed" (also timed acquires of a plain
Lock and RLock made before gort, and `cv.wait_for`). Prints the counters, then OK; BAD
if a counter is off or mutual exclusion broke.
"""
import sys
import threading

lk = threading.Lock()
rl = threading.RLock()
cv = threading.Condition(threading.Lock())

import gort  # noqa: E402  (the locks above are made before gort)
import gort.sync  # noqa: E402

N = 300
MODE = sys.argv[1]
c = [0, 0, 0]
inside = [0, 0]
broken = [0]


def spin(n: int) -> None:
    for _ in range(n):
        pass


def timed(lock: object, k: int) -> None:
    while not lock.acquire(timeout=0.001):  # type: ignore[attr-defined]
        pass
    try:
        inside[k] += 1
        if inside[k] != 1:
            broken[0] += 1
        x = c[k]
        spin(500)
        c[k] = x + 1
        inside[k] -= 1
    finally:
        lock.release()  # type: ignore[attr-defined]


def user(wg: gort.sync.WaitGroup, i: int) -> None:
    for _ in range(N):
        if MODE == "timed":
            timed(lk, 0)
            timed(rl, 1)
            with cv:
                cv.wait_for(lambda: c[2] % 3 == i, timeout=0.002)
                z = c[2]
                spin(100)
                c[2] = z + 1
                cv.notify_all()
        else:
            with cv:
                cv.wait(0.002)
                z = c[2]
                spin(300)
                c[2] = z + 1
                cv.notify_all()
    wg.done()


def main() -> bool:
    wg = gort.sync.WaitGroup()
    wg.add(3)
    for i in range(3):
        gort.go(user, wg, i)
    wg.wait()
    want = [3 * N] * 3 if MODE == "timed" else [0, 0, 3 * N]
    print(f"counters {c} exclusion broken {broken[0]}")
    ok = c == want and broken[0] == 0
    print("OK" if ok else "BAD")
    return ok


sys.exit(0 if gort.run(main) else 1)
