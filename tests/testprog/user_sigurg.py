"""A program's own SIGURG handler gets its self-sent SIGURGs while gort preempts."""
import os
import signal
import sys

import gort

got = []
mode = sys.argv[1] if len(sys.argv) > 1 else "after"


def handler(signum, frame):
    got.append(signum)


if mode == "before":
    signal.signal(signal.SIGURG, handler)
stop = [False]


def spin():
    while not stop[0]:
        pass


gort.go(spin)
gort.sleep(0.05)  # preemption at work
if mode == "after":
    signal.signal(signal.SIGURG, handler)
    gort.sleep(0.05)  # gort takes its handler back, chaining to ours
for _ in range(3):
    os.kill(os.getpid(), signal.SIGURG)
    gort.sleep(0.03)
stop[0] = True
st = gort.stats()
print(f"got {len(got)} forwarded {st['signals_forwarded']} async {st['preempt_async']}")
assert len(got) == 3, got
assert st["preempt_async"] > 0
print("OK")
