"""os.fork() from the main goroutine (argv[1] == "main") or another one ("goroutine").

The parent has a spinning goroutine and an offload worker. The child must have
only the forking goroutine, and a working sysmon (a new spinner does not starve
it), offload, timers and tracing (argv[2]: where the child writes its trace).
"""
import os
import sys
import time
import warnings

import gort

# CPython 3.12+ warns on every fork of a multi-threaded process; gort's own threads
# (sysmon, offload workers) are handled by its fork handlers.
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)

gort.gomaxprocs(1)
WHERE = sys.argv[1]
TRACE = sys.argv[2]


def spin():
    while True:
        pass


finalized = []


class Fin:
    """Cyclic garbage with a finalizer: collected by gort's finalizer goroutine."""

    def __init__(self):
        self.me = self

    def __del__(self):
        finalized.append(1)


def collect_some():
    """Make garbage until the finalizer goroutine has collected some (bounded)."""
    before = len(finalized)
    for _ in range(200):
        for _ in range(10):
            Fin()
        junk = [[] for _ in range(2000)]
        del junk
        gort.sleep(0)
        if len(finalized) > before:
            return True
    return False


def child_work():
    assert gort.num_goroutine() == 1, gort.num_goroutine()
    assert collect_some()  # the parent's finalizer goroutine is not here: a new one
    gort.trace.start(TRACE)
    gort.go(spin)
    gort.sleep(0.001)  # back only if sysmon preempts the spinner
    assert gort.offload(lambda: 6 * 7) == 42
    gort.after(0.002).recv()
    gort.trace.stop()
    print("child OK", flush=True)


def wait_child(pid):
    _, status = gort.offload(os.waitpid, pid, 0)
    print("parent OK", os.waitstatus_to_exitcode(status), flush=True)


def forker(done):
    pid = os.fork()
    if pid == 0:
        child_work()
        return  # in the child this goroutine is the main one: returning ends the child
    done.send(pid)


gort.go(spin)
gort.offload(time.sleep, 0)
assert collect_some()  # the finalizer goroutine exists (and is parked) at the fork
gort.sleep(0.02)  # the spinner has run and been preempted
if WHERE == "main":
    pid = os.fork()
    if pid == 0:
        child_work()
        sys.exit(0)
else:
    done = gort.Chan()
    gort.go(forker, done)
    pid = done.recv()
wait_child(pid)
