"""Run with `gort run --net`: a goroutine waits in a selector's select (0.5 s) while
another goroutine (or a thread) registers a ready socket or modifies a key to a ready
event. The epoll-based selectors see the change at once, as the kernel shows it to the
stdlib's EpollSelector; Select/PollSelector, as the stdlib's, see it only at the next
call. Prints JSON: per case, the events the waiter got and whether it returned early."""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time

import gort


def case(cls: type[selectors.BaseSelector], how: str) -> list[object]:
    sel = cls()
    a, b = socket.socketpair()
    done = gort.Chan[list[object]](1)

    # The epoll-based ones return at the change (about 0.05 s in); 5 s leaves room for a
    # loaded machine (0.5 s was missed once at load 8). The others wait it out: 0.5 s.
    timeout = 5.0 if isinstance(sel, selectors.EpollSelector) else 0.5

    def waiter() -> None:
        t0 = time.monotonic()
        got = [ev for _k, ev in sel.select(timeout)]
        done.send([got, time.monotonic() - t0 < 0.8 * timeout])

    if how == "modify":
        sel.register(a, selectors.EVENT_READ)
    else:
        b.send(b"x")
    gort.go(waiter)
    gort.sleep(0.05)
    if how == "modify":
        sel.modify(a, selectors.EVENT_WRITE)
    elif how == "register":
        sel.register(a, selectors.EVENT_READ)
    else:  # from a thread that runs no goroutines
        t = threading.Thread(target=sel.register, args=(a, selectors.EVENT_READ))
        t.start()
        t.join()
    got = done.recv()
    sel.close()
    a.close()
    b.close()
    return got


out = {f"{name}-{how}": case(getattr(selectors, name), how)
       for name in ("DefaultSelector", "EpollSelector", "PollSelector", "SelectSelector")
       for how in ("register", "modify", "thread")}
print(json.dumps(out))
