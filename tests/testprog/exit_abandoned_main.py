"""A goroutine ends the program while the main goroutine is parked in the script's top
level, which holds an un-waited subprocess.Popen and an object whose __del__ takes a
threading.Lock (argv[1]: panic, exit (sys.exit(5)), dead (a deadlock)). Under `gort run`
the script's module stayed registered and alive into the interpreter's last phase,
which clears the modules' globals first: both __del__ then ran on cleared modules
("Exception ignored in: <function Popen.__del__ ...> TypeError: 'NoneType' object is
not callable", from the goroutine-aware lock). Plain python and `gort run` must end
alike: the report, its status, the atexit callback, then the globals' finalizers run
cleanly; nothing else."""

import atexit
import os
import subprocess
import sys
import threading

import gort

mode = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])


class Locks:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __del__(self) -> None:
        with self.lock:
            os.write(1, b"del ran\n")


held = Locks()
atexit.register(os.write, 1, b"atexit ran\n")


def ender() -> None:
    if mode == "panic":
        raise ValueError("boom")
    if mode == "exit":
        sys.exit(5)


gort.go(ender)
gort.Chan[int]().recv()
