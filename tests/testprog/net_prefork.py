"""A prefork server: a listening gort socket shared with two forked children that run
gort themselves and accept on it, each beside a 10 ms ticker. The parent sets the
listener's timeout to None after the fork (its descriptor must stay non-blocking: a
blocking accept would stop a child's whole thread, and its ticker). After 0.5 s the
parent connects 6 times; each answer is "pid ticks". Prints JSON."""

from __future__ import annotations

import json
import os
import signal

import gort
from gort import socket as gsocket

ln = gsocket.create_server(("127.0.0.1", 0))
port = ln.getsockname()[1]
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        ticks = [0]

        def ticker(ticks: list[int] = ticks) -> None:
            while True:
                gort.sleep(0.01)
                ticks[0] += 1

        gort.go(ticker)
        while True:
            c, _ = ln.accept()
            with c:
                c.recv(10)
                c.sendall(f"{os.getpid()} {ticks[0]}".encode())
    children.append(pid)

ln.settimeout(None)
blocking_after = os.get_blocking(ln.fileno())
gort.sleep(0.5)
answers = []
for _ in range(6):
    with gsocket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"hi")
        pid_s, ticks_s = c.recv(100).decode().split()
        answers.append((int(pid_s), int(ticks_s)))
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(json.dumps({"blocking_after": blocking_after,
                  "from_children": sum(p in children for p, _ in answers),
                  "min_ticks": min(t for _, t in answers)}))
