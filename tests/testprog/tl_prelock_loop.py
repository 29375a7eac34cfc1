"""Two goroutines loop around `with L: <compute>` where L is a plain Lock or RLock made
before `import gort`, beside a goroutine that sleeps 1 ms 50 times (adversarial round 4,
B3). Preemption must wait for the block's end (the next goroutine would enter a plain
RLock, or block the thread on a plain Lock) and then happen. Before, the request was only
counted and the next one had to land outside the block, which a loop holding the lock
almost all the time never did: the program hung.

argv[1]: lock | rlock. Prints the ticker's sleeps done, and OK if the spinners were
switched out.
"""
import sys
import threading

PRE = {"lock": threading.Lock(), "rlock": threading.RLock()}[sys.argv[1]]

import gort  # noqa: E402  (the lock above is made before gort, on purpose)

stop = [False]


def spinner() -> None:
    while not stop[0]:
        with PRE:
            for _ in range(1000):
                pass


def main() -> None:
    for _ in range(2):
        gort.go(spinner)
    n = 0
    for _ in range(50):
        gort.sleep(0.001)
        n += 1
    stop[0] = True
    gort.sleep(0.05)
    st = gort.stats()
    print(n, "OK" if st["preempt_async"] > 0 and
          st["preempt_deferred"].get("thread lock held", 0) > 0 else f"BAD {st}")


gort.run(main)
