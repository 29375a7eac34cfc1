"""A goroutine whose time goes into blocking C calls is still preempted (by the one-shot hook)."""
import time

import gort


def blocker(started):
    started.send(None)  # main's wait begins once this runs (a loaded machine could
    # otherwise fire main's timer before the blocker ever ran)
    while True:
        time.sleep(0.001)  # blocks the thread in C: signals land inside the call


started = gort.Chan(1)
gort.go(blocker, started)
t0 = time.perf_counter()
started.recv()
gort.sleep(0.001)
st = gort.stats()
print(f"ok after {(time.perf_counter() - t0) * 1000:.1f}ms deferred {st['preempt_deferred']}")
