"""A second preemption signal while the one-shot hook is armed (issue 9, 3.11).

Under a 50 us slice on a loaded machine, a goroutine spinning in a shallow
generator died once in about 300 runs with RecursionError: ``_trace_hook``
nested 985 deep. The handler's "is the hook still in place" test compared
``frame.f_trace is self._trace_hook``, always False for a bound method (a new
object at each access), so a second signal while armed saved the hook as the
frame's own tracer and re-armed: the hook then called itself. This program
makes that sequence deterministic: two signals (``do_sig_preempt``) answered
while the goroutine's frame is in a call (the old code left the hook behind as
the frame's own tracer), then a third arming of the same frame, whose next
instruction starts a line: its "line" event reached the hook, which called the
saved "tracer", itself, until the recursion limit. 3.12+ hooks with
sys.monitoring instead (not affected).
"""

import sys

import gort
from gort.runtime import proc

events: list[str] = []


def two_signals() -> None:
    s = proc.running()
    assert s is not None
    gp = proc.getg()
    frame = sys._getframe(1)  # spin()'s frame, inside this call: not a safe point
    gp.preempt = True  # what sysmon's request sets
    s.preempter.do_sig_preempt(frame)  # arms the hook on spin()'s next instruction
    s.preempter.do_sig_preempt(frame)  # a second signal before it fired


def one_signal() -> int:
    s = proc.running()
    assert s is not None
    proc.getg().preempt = True
    s.preempter.do_sig_preempt(sys._getframe(1))  # arms the hook on spin() again
    return 1


def spin() -> None:
    two_signals()
    events.append("after")  # the hook fires here and switches the goroutine out
    x = (
        one_signal()
    )  # the store starts a line range: a "line" event reaches the hook before "opcode"
    events.append(f"again {x}")


def other() -> None:
    events.append("other ran")


def main() -> None:
    gort.go(other)
    try:
        spin()
    except RecursionError as e:
        events.append(f"RecursionError {e}")
    print(" ".join(events), gort.stats()["preempt_deferred"].get("in call: hooked", 0))


gort.run(main)
