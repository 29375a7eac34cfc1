"""A goroutine ends the program (panic, sys.exit) while a non-daemon thread still runs;
a signal handler raises while the exit joins that thread (issue 9 adversarial pass). The
exception was thrown into the abandoned script, which ran on and exited 0."""
import os
import signal
import sys
import threading
import time

import gort


class Boom(Exception):
    pass


def h(signum, frame):
    raise Boom()


def signal_at_the_join() -> None:
    # Once the interpreter's exit has begun joining threads (the main thread then reads
    # as stopped); a fixed delay came before the exit on a loaded machine.
    main = threading.main_thread()
    while main.is_alive():
        time.sleep(0.005)
    os.kill(os.getpid(), signal.SIGUSR1)


signal.signal(signal.SIGUSR1, h)
threading.Thread(target=signal_at_the_join).start()


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
