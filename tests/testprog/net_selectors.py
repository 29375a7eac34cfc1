"""Run with `gort run --net`: every selectors class (made before and after a goroutine
starts), select.select, select.poll and time.sleep park only their goroutine while a
10 ms ticker runs. Prints JSON: what each wait returned and the ticks seen during it."""

from __future__ import annotations

import json
import select
import selectors
import socket
import time

import gort

early = selectors.DefaultSelector()  # made at import, before any goroutine


def during(wait: object) -> tuple[object, int]:
    """wait() while a 10 ms ticker counts (it starts when the caller parks: a wait that
    holds the thread sees no tick); the peer writes after 0.1 s."""
    ticks = [0]
    stop = gort.Chan[None]()

    def tick() -> None:
        tk = gort.Ticker(0.01)
        while gort.select(tk.c.recv, stop.recv)[0] == 0:
            ticks[0] += 1
        tk.stop()

    gort.go(tick)
    assert callable(wait)
    got = wait()
    stop.close()
    return got, ticks[0]


def main() -> None:
    out: dict[str, object] = {}
    for name, sel in (("early-default", early), ("select", selectors.SelectSelector()),
                      ("poll", selectors.PollSelector()), ("epoll", selectors.EpollSelector())):
        a, b = socket.socketpair()
        sel.register(a, selectors.EVENT_READ, name)
        gort.after_func(0.1, b.send, b"x")
        got, ticks = during(lambda sel=sel: [(k.data, ev) for k, ev in sel.select(10)])
        out[name] = [got, ticks >= 1]
        sel.unregister(a)
        a.close()
        b.close()
    a, b = socket.socketpair()
    gort.after_func(0.1, b.send, b"x")
    got, ticks = during(lambda: select.select([a], [], [], 10)[0] == [a])
    out["select.select"] = [got, ticks >= 1]
    p = select.poll()
    p.register(a, select.POLLIN)
    a.recv(1)
    gort.after_func(0.1, b.send, b"y")
    got, ticks = during(lambda: p.poll(10_000) == [(a.fileno(), select.POLLIN)])
    out["select.poll"] = [got, ticks >= 1]
    got, ticks = during(lambda: time.sleep(0.1))
    out["time.sleep"] = [got, ticks >= 1]
    out["timeout"] = during(lambda: selectors.PollSelector().select(0.05))[0]
    a.close()
    b.close()
    print(json.dumps(out))


main()
