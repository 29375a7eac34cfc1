"""What the program's own sys.gettrace() reads while gort's hook waits for a long C call
to return (a sort's key computing, C between frames: the hook goes on the caller's next
instruction). On 3.11 the hook needs the thread's tracing on, and gort used to turn it
on with a global function of its own: the key read gort's `_no_local_trace` for as long
as the sort ran, and a key that saved and restored it (`old = sys.gettrace();
sys.settrace(old)`) left it installed after the run, every later call of the thread
paying a trace event. Now tracing goes on with no global function: None all along.

argv[1]: "restore" (the key saves and restores the trace function), or "off" (the key
turns tracing off, `sys.settrace(None)`: the hook, still the frame's f_trace, was never
called again, each later request found it "in place", and the main goroutine's 1 ms
sleeps never came back: a hang). Prints what the keys read, what remains after the run,
and whether main got its turns.
"""
import sys
import time

import gort

seen: set[object] = set()
turns = [0]


def slow(x: int) -> int:
    seen.add(sys.gettrace())
    if sys.argv[1] == "off":
        sys.settrace(None)
    else:
        old = sys.gettrace()
        sys.settrace(old)  # a program saving and restoring the trace function
    t = time.thread_time() + 0.03
    while time.thread_time() < t:
        pass
    return -x


def sorter(stop: list[bool]) -> None:
    while not stop[0]:
        sorted(range(4), key=slow)  # 120 ms under C: requests hook the loop's next line


def main() -> None:
    stop = [False]
    gort.go(sorter, stop)
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:
        gort.sleep(0.001)
        turns[0] += 1
    stop[0] = True
    gort.sleep(0.3)


gort.run(main)
print(sorted(map(repr, seen)), sys.gettrace(), turns[0] > 2)
