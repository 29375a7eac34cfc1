"""sysmon's reads of a frame that ended between the look that found it and the read.

sysmon takes an M's top frame, then reads its value stack; in between the M may finish
that frame. A frame that ended by an exception keeps the call it raised from as its
f_lasti, but its value stack is gone (the frame object's own copy holds only the
locals): reading a slot there dereferenced garbage (lock_stress.py crashed sysmon).
A thread blocks in a C call inside a ``with`` block, this thread takes the frame, the
call raises (a socket timeout) and the frame ends; then every read sysmon makes of a
frame is made of it. Prints what they found.
"""
import socket
import sys
import threading
import time

from gort.runtime import preempt, symtab


class Manager:
    def __enter__(self) -> "Manager":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


a, b = socket.socketpair()
a.settimeout(0.5)


def blocked() -> None:
    with Manager():
        a.recv(1)


def run() -> None:
    try:
        blocked()
    except TimeoutError:
        pass


t = threading.Thread(target=run)
t.start()
time.sleep(0.1)
frame = sys._current_frames()[t.ident]
assert frame.f_code is blocked.__code__, frame
live = symtab.callee(frame, preempt._CALLEE_KINDS)
print("live:", getattr(live, "__name__", live), len(symtab.with_managers(frame)))
t.join()
print("ended:", symtab.callee(frame, preempt._CALLEE_KINDS), symtab.callee(frame),
      preempt.lock_wait_at(frame), symtab.with_managers(frame))
