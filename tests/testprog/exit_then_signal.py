"""A goroutine ends the program (panic, sys.exit) while a non-daemon thread still runs;
a signal handler raises while the exit joins that thread (issue 9 adversarial pass). The
exception was thrown into the abandoned script, which ran on and exited 0."""
import os
import signal
import sys
import threading

import gort


class Boom(Exception):
    pass


def h(signum, frame):
    raise Boom()


signal.signal(signal.SIGUSR1, h)
threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()


def bad():
    raise ValueError("panic in goroutine")


if sys.argv[1] == "panic":
    gort.go(bad)
else:
    gort.go(sys.exit, 4)
try:
    gort.sleep(5)
except Boom:
    print("the abandoned script caught Boom")
print("the abandoned script went on")
