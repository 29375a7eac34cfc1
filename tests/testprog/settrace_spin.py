"""sys.settrace with a Python tracer: a goroutine spinning in pure Python beside a ticker.

The tracer returns itself, so CPython stores its result in each frame's f_trace after
every event: a preemption hook armed on the spinner's frame from inside the tracer's
callback was overwritten there and never fired, and the ticker starved (3.11).
"""
import sys
import time

import gort

events = {"spin": 0, "tick": 0}
stop = [False]


def tracer(frame, event, arg):
    name = frame.f_code.co_name
    if name in events and event == "line":
        events[name] += 1
    return tracer


def spin():
    x = 0
    while not stop[0]:
        x += 1


def tick():
    n = 0
    while n < 20:
        gort.sleep(0.005)
        n += 1
    return n


def main():
    gort.go(spin)
    gort.sleep(0)
    t = time.monotonic()
    done = gort.Chan(1)
    gort.go(lambda: done.send(tick()))
    ticks = done.recv()
    stop[0] = True
    took = time.monotonic() - t
    print(f"ticks {ticks} spin_events {events['spin'] > 0} tick_events {events['tick'] > 0} "
          f"took_under_10s {took < 10}")


sys.settrace(tracer)
gort.run(main)
sys.settrace(None)
