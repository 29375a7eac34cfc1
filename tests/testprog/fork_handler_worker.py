"""os.fork() in a signal handler that ran on a worker's stack (the signal landed in the
worker's code) while main slept (issue 9 adversarial pass): the child kept only the
worker, so it never went on in main as a plain program's child does after a handler.
The child's main exits 7; the parent prints the child's status."""
import os
import signal
import threading
import time

import gort

PARENT = os.getpid()
pids = []


def h(signum, frame):
    pid = os.fork()
    if pid:
        pids.append(pid)


def worker():
    t = time.time()
    while time.time() - t < 0.3:
        pass


def main():
    signal.signal(signal.SIGUSR1, h)
    gort.go(worker)
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    deadline = time.monotonic() + 10  # the handler forks within the worker's 0.3 s
    while not pids and os.getpid() == PARENT and time.monotonic() < deadline:
        gort.sleep(0.01)
    if os.getpid() != PARENT:
        os._exit(7)
    _, status = gort.offload(os.waitpid, pids[0], 0)  # others may run meanwhile
    print("child", os.waitstatus_to_exitcode(status))


gort.run(main)
