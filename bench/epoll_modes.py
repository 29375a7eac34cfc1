"""What a wait costs under each epoll mode (docs/design.md, "The netpoller").

    python bench/epoll_modes.py

One round on a socketpair: send one byte, the variant's epoll_ctl calls,
epoll_wait(0), recv: the part of a socket round trip that differs between
edge-triggered (registered once: nothing per wait), one-shot (re-armed per
wait) and level-triggered (interest armed before a wait and disarmed after,
or a writable socket would be reported at every poll). Modes alternate;
medians of 5 runs of 200 000 rounds, in microseconds per round.
"""

from __future__ import annotations

import select
import socket
import statistics
import time

N = 200_000


def run(mode: str, ep: select.epoll, a: socket.socket, b: socket.socket) -> float:
    fd = a.fileno()
    t = time.perf_counter()
    for _ in range(N):
        b.send(b"x")
        if mode == "oneshot":
            ep.modify(fd, select.EPOLLIN | select.EPOLLONESHOT)
        elif mode == "level":
            ep.modify(fd, select.EPOLLIN)
        ep.poll(0)
        if mode == "level":
            ep.modify(fd, 0)
        a.recv(16)
    return (time.perf_counter() - t) / N * 1e6


def main() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    ep = select.epoll()
    ep.register(a.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
    out: dict[str, list[float]] = {"edge": [], "oneshot": [], "level": []}
    for _ in range(5):
        for mode in out:
            if mode != "edge":
                ep.modify(a.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
            out[mode].append(run(mode, ep, a, b))
    for mode, xs in out.items():
        print(f"{mode:8} {statistics.median(xs):6.2f} us/round")


if __name__ == "__main__":
    main()
