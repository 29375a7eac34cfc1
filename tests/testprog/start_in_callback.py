"""The implicit runtime first started from inside a trace, profile or sys.monitoring
callback (plain python; argv[1] trace | profile | monitoring): the start-up probe must
not take that callback's raised tracing counter for a layout it does not know, and
asynchronous preemption must work for the run (a spinner beside main's 1 ms sleep)."""
import sys
import time

import gort

how = sys.argv[1]


def first(x: int) -> int:
    return x


def hook(*_args: object) -> None:
    gort.current_id()  # the first gort call: the runtime starts here


if how == "trace":
    sys.settrace(lambda f, e, a: hook())
    first(1)
    sys.settrace(None)
elif how == "profile":
    sys.setprofile(lambda f, e, a: hook())
    first(1)
    sys.setprofile(None)
else:
    mon = sys.monitoring  # type: ignore[attr-defined]
    mon.use_tool_id(2, "test")

    def on_start(code: object, off: int) -> None:
        # Events of a monitoring tool are global (every thread's): turned off first, so
        # that gort's own threads started from here (sysmon) get none of them.
        mon.set_events(2, 0)
        hook()

    mon.register_callback(2, mon.events.PY_START, on_start)
    mon.set_events(2, mon.events.PY_START)
    first(1)
    mon.set_events(2, 0)
    mon.free_tool_id(2)


def spin() -> None:
    while True:
        pass


def preemptions() -> int:
    st = gort.stats()
    return st["preempt_async"] + st["preempt_sync"]


gort.go(spin)
# (Until the spinner has run and been preempted: on a loaded machine main's 1 ms timer
# could be due before main parked, and main went on without the spinner ever running:
# "OK False" once on 3.13 under load.)
deadline = time.monotonic() + 30
while not preemptions() and time.monotonic() < deadline:
    gort.sleep(0.001)
print("OK", preemptions() > 0)
