"""os.fork() inside a signal handler. argv[1] "parked": main sleeps when the signal comes
(gort's handler goroutine runs the handler); "inline": main spins in its own code (the
handler runs on main). Either way the child goes on in main after the handler, with a
working runtime (preemption, channels, timers); the parent waits for it.
"""
import os
import signal
import sys
import threading
import time
import warnings

import gort

# CPython 3.12+ warns on every fork of a multi-threaded process (the Timer's, gort's).
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
forked = []


def handler(signum, frame):
    forked.append(os.fork())


def spin():
    while True:
        pass


def main():
    signal.signal(signal.SIGUSR1, handler)
    if sys.argv[1] == "parked":
        threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        gort.sleep(0.2)
    else:
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not forked and time.monotonic() < deadline:
            pass
    gort.go(spin)
    gort.sleep(0.01)  # the spinner is preempted
    if forked == [0]:
        ch = gort.Chan()
        gort.go(lambda: ch.send(42))
        print("child", ch.recv(), flush=True)
        os._exit(0)
    # offloaded: the spinner could run meanwhile (a blocking wait here is reported)
    _, status = gort.offload(os.waitpid, forked[0], 0)
    print("parent", os.waitstatus_to_exitcode(status), flush=True)


gort.run(main)
