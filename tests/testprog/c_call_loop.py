"""A goroutine whose time goes into blocking C calls is still preempted (by the one-shot hook)."""
import time

import gort


def blocker():
    while True:
        time.sleep(0.001)  # blocks the thread in C: signals land inside the call


gort.go(blocker)
t0 = time.perf_counter()
gort.sleep(0.001)
st = gort.stats()
print(f"ok after {(time.perf_counter() - t0) * 1000:.1f}ms deferred {st['preempt_deferred']}")
