"""A worker spends 1.5 s of CPU time (the report counts the thread's CPU time: F5 of
brk8 round 3) in sorted()'s key, a Python callback under C, where preemption
must wait; main waits on timers meanwhile. sysmon reports the worker once (adversarial
F3: 0 or 2 reports under load: the spin's instruction changed between two looks, and a
look that found the thread unscheduled ended the count). Prints the sorted result."""
import time

import gort


def key(x: int) -> int:
    t = time.thread_time()
    while time.thread_time() - t < 0.3:
        pass
    return -x


done: gort.Chan[list[int]] = gort.Chan(1)


def worker() -> None:
    done.send(sorted(range(5), key=key))


gort.go(worker)
while len(done) == 0:  # a timer waits all along (one sleep could end before the worker ran)
    gort.sleep(0.01)
print(done.recv(), bool(gort.stats().get("preempt_deferred")))
