"""How a program ends, and what runs at its exit, with a goroutine parked (issue 9).

argv[1]: return (main returns), panic, exit (sys.exit(5) in a goroutine), dead
(a deadlock), int (Ctrl-C while main is parked), mainraise; argv[2] "hook":
the program installs a sys.excepthook first. A module-level object's
``__del__`` (in a cycle), a ``weakref.finalize`` and an atexit callback each
print a line at exit, to stdout. Plain ``python`` must end exactly as ``gort
run`` (before, it skipped the finalizers whenever a goroutine was parked: the
abandoned goroutine's frame kept the script's globals alive; and skipped the
program's hook on Ctrl-C).
"""

import atexit
import os
import signal
import sys
import weakref

import gort

mode = sys.argv[1]
if len(sys.argv) > 2:
    def hook(t: type, v: BaseException, tb: object) -> None:
        print("hook", t.__name__, file=sys.stderr, flush=True)
    sys.excepthook = hook


class Res:
    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        os.write(1, b"del ran\n")


class Target:
    pass


res = Res()
target = Target()
weakref.finalize(target, os.write, 1, b"weakref.finalize ran\n")
atexit.register(os.write, 1, b"atexit ran\n")
parked: gort.Chan[int] = gort.Chan()


def parker() -> None:
    parked.recv()  # abandoned: its frame holds this module's globals


def ender() -> None:
    gort.sleep(0.01)
    if mode == "panic":
        raise ValueError("boom")
    if mode == "exit":
        sys.exit(5)
    if mode == "int":
        os.kill(os.getpid(), signal.SIGINT)


gort.go(parker)
gort.go(ender)
if mode == "dead":
    gort.Chan[int]().recv()
if mode == "mainraise":
    gort.sleep(0.01)
    raise KeyError("k")
gort.sleep(0.05 if mode == "return" else 5)
print("main done", flush=True)
