"""A profile function doing a little work; one goroutine calls a function in a loop,
one calls time.sleep(0.001) in a loop. Both keep receiving profile events; no hang.

A switch inside the profile function would leave the thread's tracing counter raised
for the next goroutine: it would get no events (and 3.12+ monitoring goes silent).
"""
import sys
import threading
import time

import gort

events = {"work": 0, "sleep": 0}
stop = [False]


def prof(frame, event, arg):
    x = 0
    for i in range(200):  # a little work: back-edges where a signal can be handled
        x += i
    if event == "call" and frame.f_code.co_name == "work":
        events["work"] += 1
    elif event == "c_call" and arg is time.sleep:
        events["sleep"] += 1


def work():
    return sum(range(50))


def caller():
    while not stop[0]:
        work()


def sleeper():
    while not stop[0]:
        time.sleep(0.001)


if len(sys.argv) > 1 and sys.argv[1] == "threading":
    threading.setprofile(prof)  # threads started later; sys.setprofile covers this one
sys.setprofile(prof)
gort.go(caller)
gort.go(sleeper)


def both_grow(since):
    """Wait (bounded) until both goroutines got events beyond `since`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if events["work"] > since["work"] and events["sleep"] > since["sleep"]:
            return True
        gort.sleep(0.01)
    return False


first = both_grow({"work": 0, "sleep": 0})
second = both_grow(dict(events))
stop[0] = True
gort.sleep(0.01)
sys.setprofile(None)
st = gort.stats()
print(f"both {first} again {second} "
      f"tracing_deferred {sum(v for k, v in st['preempt_deferred'].items() if 'tracing' in k) > 0}")
