"""A descriptor closed between its registration and the wait, its number free: the
stdlib's answer is the closed descriptor's (select: EBADF, poll: POLLNVAL, a
SelectSelector: EBADF), on a goroutine as on the stdlib. The first wait of a process
made gort's probe descriptors (the timeout's checks), which took the free number and
answered for it: nothing ready, after the timeout. A fresh process per mode (argv[1]:
std or gort) and wait (argv[2]: select, poll, selector); prints one JSON line."""

import json
import os
import select
import selectors
import sys
import time

import gort
import gort.socket as gsocket


def closed_fd() -> int:
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    return fd


def waits(which: str, sel_fn: object, poll_cls: object, parking: bool) -> list[object]:
    out: list[object] = []

    def rec(fn: object) -> None:
        t0 = time.monotonic()
        try:
            r: object = fn()  # type: ignore[operator]
        except OSError as e:
            r = ("OSError", e.errno)
        out.append([r, time.monotonic() - t0 < 0.1])

    if which == "select":
        fd = closed_fd()
        rec(lambda: sel_fn([fd], [], [], 0.2))  # type: ignore[operator]
        return out
    if which == "selector":
        s = selectors.SelectSelector()
        if parking:
            s.select = gsocket.selector_select_of(  # type: ignore[method-assign]
                selectors.SelectSelector.select).__get__(s)
        f = open(os.devnull)  # noqa: SIM115
        s.register(f, selectors.EVENT_READ)
        f.close()
        rec(lambda: s.select(0.2))
        return out
    p = poll_cls()  # type: ignore[operator]
    f = open(os.devnull)  # noqa: SIM115
    p.register(f, select.POLLIN)
    n = f.fileno()
    f.close()
    rec(lambda: [(x == n, ev) for x, ev in p.poll(200)])
    return out


if sys.argv[1] == "std":
    print(json.dumps(waits(sys.argv[2], select.select, select.poll, False)))
else:
    print(json.dumps(gort.run(waits, sys.argv[2], gsocket.select, gsocket.poll, True)))
