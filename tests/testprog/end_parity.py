"""A goroutine ends the program while main waits inside try/finally (issue 9, item 7):
plain ``python`` must end exactly as ``gort run`` does.

argv[1]: panic (an uncaught exception in a goroutine), exit (sys.exit(3) there), dead
(a deadlock), mainpanic (main's own uncaught exception). Prints a buffered line (stdout
is a pipe: block-buffered, lost by an os._exit that skips the flush), registers an
atexit callback, and keeps two objects with finalizers in the script's globals (one in
a reference cycle). Expected in both modes: the report once, Go's status, the buffered
line, the atexit line, both finalizers; main's ``finally`` never runs (abandoned).
"""

import atexit
import os
import sys

import gort

how = sys.argv[1]


class Res:
    def __init__(self, name: str, cyclic: bool) -> None:
        self.name = name
        self.write = os.write
        self.me = self if cyclic else None

    def __del__(self) -> None:
        self.write(1, f"finalized {self.name}\n".encode())


plain = Res("plain", False)
cyclic = Res("cyclic", True)
atexit.register(print, "atexit ran")
print("buffered line")


def ender() -> None:
    if how == "panic":
        raise ValueError("boom")
    if how == "exit":
        sys.exit(3)


gort.go(ender)
try:
    if how == "mainpanic":
        raise KeyError("main's own")
    gort.Chan[int]().recv()
finally:
    if how != "mainpanic":
        print("main's finally ran")
