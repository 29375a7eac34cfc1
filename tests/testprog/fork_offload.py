"""os.fork() from an offload worker: the child has no M, so no runtime; a new one starts.

The child's new runtime is not asked to preempt a spinner: on CPython 3.13 a signal
sent from another thread to a thread that forked while it was not the main thread is
never handled while it runs Python code (docs/design.md, fork), so asynchronous
preemption cannot work there.
"""
import os
import warnings

import gort

# CPython 3.12+ warns on every fork of a multi-threaded process; gort's own threads
# (sysmon, offload workers) are handled by its fork handlers.
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)


def spin():
    while True:
        pass


def in_worker():
    pid = os.fork()
    if pid:
        return pid
    # The child: this thread is its only (and main) thread; the parent's runtime is gone.
    assert gort.runtime.running() is None

    def main():
        ch = gort.Chan()
        gort.go(lambda: ch.send(gort.offload(lambda: 1)))
        gort.sleep(0.001)  # a fresh runtime: timers, offload, channels
        return ch.recv()

    print("child", gort.run(main), flush=True)
    os._exit(0)


def main():
    gort.go(spin)
    pid = gort.offload(in_worker)
    _, status = gort.offload(os.waitpid, pid, 0)
    print("parent", os.waitstatus_to_exitcode(status), flush=True)


gort.run(main)
