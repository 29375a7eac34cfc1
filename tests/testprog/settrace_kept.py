"""A program's own trace function survives preemption (never clobbered by the hook)."""
import sys
import time

import gort

calls = [0]


def tracer(frame, event, arg):
    calls[0] += 1
    return None


sys.settrace(tracer)


def c_heavy():
    while True:
        time.sleep(0.0005)  # signals land in the C call: the hook path is taken if allowed


def spin():
    while True:
        pass


gort.go(c_heavy)
gort.go(spin)
for _ in range(5):
    gort.sleep(0.001)
st = gort.stats()
print("kept", sys.gettrace() is tracer, "async", st["preempt_async"] > 0,
      "deferred", sorted(st["preempt_deferred"]))
