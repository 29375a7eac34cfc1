"""Two goroutines count under a plain RLock made before `import gort`, taken by acquire()
(no with block to see), while an inner loop takes a plain Lock in `with` blocks: the hook
that waits for the inner block's end must not switch a goroutine out while the outer
RLock is still its thread's (the other goroutine would enter it). Prints the count, OK.
"""
import threading

PRE_RL = threading.RLock()
PRE_LK = threading.Lock()

import gort  # noqa: E402  (the locks above are made before gort, on purpose)
from gort.sync import WaitGroup  # noqa: E402

N = 300
count = [0]


def work() -> None:
    for _ in range(N):
        PRE_RL.acquire()
        try:
            x = count[0]
            for _ in range(5):
                with PRE_LK:
                    for _ in range(300):
                        pass
            count[0] = x + 1
        finally:
            PRE_RL.release()


def main() -> None:
    wg = WaitGroup()
    for _ in range(2):
        wg.go(work)
    wg.wait()
    print(count[0], "OK" if count[0] == 2 * N else "BAD")


gort.run(main)
