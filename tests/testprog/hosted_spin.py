"""A hosted gort.run(main) under gort run: a spinning main is still preempted (timers fire)."""
import time

import gort


def main():
    hit = []
    gort.after_func(0.1, lambda: hit.append(1))
    t = time.monotonic()
    while time.monotonic() - t < 1.0 and not hit:
        pass
    st = gort.stats()
    print("fired", bool(hit), st["preempt_async"], st["preempt_deferred"])


gort.run(main)
