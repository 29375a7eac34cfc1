"""A goroutine spinning inside a callback that C code called is never switched out there.

argv[1]: callbacks (sorted(key=), re.sub(fn), json.dumps(default=), in turn) or gen
(control: a generator driven by a for loop, which may be preempted anywhere).
Another goroutine counts; while the callback runs its count must not move (the
callback sees no other goroutine run); after the C call returns, the spinner is
preempted (the count moves) while it spins in plain Python.
"""
import json
import re
import sys
import time

import gort

MODES = ["sorted", "re", "json"] if sys.argv[1] == "callbacks" else ["gen"]
MODE = MODES[0]
SPIN_S = 0.025  # per callback: a few slices at the default 10 ms, hundreds at 50 us
ticks = [0]
moved_inside = [0]
calls = [0]


def counter():
    while True:
        ticks[0] += 1
        gort.sleep(0.0001)


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def callback(x):
    calls[0] += 1
    before = ticks[0]
    spin(SPIN_S)
    if ticks[0] != before:
        moved_inside[0] += 1
    return x if MODE != "json" else 0


def gen():
    for i in range(2):
        before = ticks[0]
        end = time.perf_counter() + 2  # spin until the counter runs (bounded)
        while ticks[0] == before and time.perf_counter() < end:
            pass
        if ticks[0] != before:
            moved_inside[0] += 1
        yield i


def run_once():
    if MODE == "sorted":
        sorted([2, 1], key=callback)
    elif MODE == "re":
        re.sub("a", lambda m: str(callback(m.group(0))), "aa")
    elif MODE == "json":
        json.dumps([object(), object()], default=callback)
    else:
        for _ in gen():
            calls[0] += 1


def after_return():
    """Spin in plain Python until the counter moves: the deferred preemption happens."""
    before = ticks[0]
    end = time.perf_counter() + 5
    while ticks[0] == before and time.perf_counter() < end:
        pass
    return ticks[0] != before


def worker(out, _unused):
    run_once()
    out.send(after_return())


gort.go(counter)
gort.sleep(0.001)
# Deferrals from here on: a 50 us slice can also land in the interpreter's start-up
# (runpy's zipimport calls back into Python from C), which is not what this checks.
before = {k: v for k, v in gort.stats()["preempt_deferred"].items() if "C between" in k}
ok_main = []
ok_worker = []
out = gort.Chan()
for MODE in MODES:  # noqa: B007 (run_once reads the global)
    run_once()
    ok_main.append(after_return())
    gort.go(worker, out, None)  # two arguments: gmain calls worker(*args) (C on 3.11)
    ok_worker.append(out.recv())
st = gort.stats()
deferred = {k: v - before.get(k, 0) for k, v in st["preempt_deferred"].items()
            if "C between" in k and v > before.get(k, 0)}
print(f"calls {calls[0]} moved_inside {moved_inside[0]} after_return {all(ok_main)} "
      f"{all(ok_worker)} async {st['preempt_async'] > 0} c_between {sum(deferred.values())} "
      f"keys {sorted(deferred)}")
