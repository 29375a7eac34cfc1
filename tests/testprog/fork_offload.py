"""os.fork() from an offload worker: the child has no M, so no runtime; a new one starts."""
import os

import gort


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
        gort.go(spin)
        gort.sleep(0.001)  # a fresh runtime, with its own sysmon
        return gort.num_goroutine()

    print("child", gort.run(main), flush=True)
    os._exit(0)


def main():
    gort.go(spin)
    pid = gort.offload(in_worker)
    _, status = gort.offload(os.waitpid, pid, 0)
    print("parent", os.waitstatus_to_exitcode(status), flush=True)


gort.run(main)
