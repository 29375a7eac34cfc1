"""os.fork() from a goroutine after channel operations warmed the C core's cache of the
M's thread state (_core.c, State.tid_ts, forgotten in a forked child): the child's
channel operations, through the core, hand every value over in order."""
import os
import warnings

import gort

# CPython 3.12+ warns on every fork of a multi-threaded process (gort's sysmon).
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)


def pingpong(n):
    a, b = gort.Chan(), gort.Chan(4)

    def pong():
        for v in a:
            b.send(v * 2)

    gort.go(pong)
    got = []
    for i in range(n):
        a.send(i)
        got.append(b.recv())
    a.close()
    return got == [2 * i for i in range(n)]


def forker(done):
    assert pingpong(100)
    pid = os.fork()
    if pid == 0:
        print("child", pingpong(1000), gort.stats()["core"], flush=True)
        return  # in the child this goroutine is the main one: returning ends the child
    done.send(pid)


def main():
    done = gort.Chan()
    gort.go(forker, done)
    pid = done.recv()
    _, status = gort.offload(os.waitpid, pid, 0)
    print("parent", pingpong(100), os.waitstatus_to_exitcode(status), flush=True)


main()
