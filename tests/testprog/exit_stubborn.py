"""main ends (return, or sys.exit(argv[1])) while goroutines refuse to die: the process exits.

The abandoned goroutines loop in ``except BaseException: pass``, in a ``finally``
that loops, and spin inside ``try``; none of them may delay the exit or run again.
"""
import sys

import gort


def swallow_everything():
    while True:
        try:
            gort.sleep(0.01)
        except BaseException:
            pass


def looping_finally():
    try:
        gort.Chan().recv()
    finally:
        while True:
            try:
                gort.sleep(0.01)
            except BaseException:
                pass


def spin_in_try():
    try:
        while True:
            pass
    finally:
        print("finally ran")  # never: abandoned goroutines are never resumed


gort.go(swallow_everything)
gort.go(looping_finally)
gort.go(spin_in_try)
gort.sleep(0.05)
print("main done", flush=True)
if len(sys.argv) > 1:
    sys.exit(int(sys.argv[1]))
