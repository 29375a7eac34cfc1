"""The program's hooks that reach other threads raise there; sysmon keeps preempting.

"setprofile": threading.setprofile with a function that raises (it once ran on sysmon's
thread before sysmon's first line, killing it). "monitoring" (3.12+): a sys.monitoring
tool whose callback raises on any thread but the main one (events are global) from the
second event of that thread on (sysmon mutes callbacks on its thread after the first).
"""
import _thread
import sys
import threading
import time

import gort

MAIN = _thread.get_ident()
how = sys.argv[1]


def bad_profile(frame, event, arg):
    raise ValueError("profile function")


if how == "setprofile":
    threading.setprofile(bad_profile)
else:
    mon = sys.monitoring
    mon.use_tool_id(2, "raising tool")

    seen = set()

    def on_start(code, offset):
        me = _thread.get_ident()
        if me != MAIN:
            if me in seen:
                raise ValueError("monitoring callback")
            seen.add(me)

    mon.register_callback(2, mon.events.PY_START, on_start)
    mon.set_events(2, mon.events.PY_START)


def spin():
    while True:
        pass


def main():
    gort.go(spin)
    t = time.monotonic()
    for _ in range(5):
        gort.sleep(0.001)
    print(f"turns 5 under_10s {time.monotonic() - t < 10} "
          f"preempted {gort.stats()['preempt_async'] > 0}", flush=True)


gort.run(main)
if how != "setprofile":
    sys.monitoring.set_events(2, 0)
    sys.monitoring.free_tool_id(2)
