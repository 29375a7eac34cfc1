"""Idle connections cost nothing (issue 11): 10 000 connection ends, a goroutine in IO
wait on each, 2 s of silence; prints the CPU time and sysmon wake-ups spent meanwhile.

    python bench/net_idle.py [PAIRS]     # default 5000 pairs (10 000 sockets)
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import gort
import gort.net as net

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000


def main() -> None:
    ln = net.listen("tcp", "127.0.0.1:0")
    servers: list[net.Conn] = []

    def acc() -> None:
        for _ in range(N):
            c = ln.accept()
            servers.append(c)
            gort.go(c.read, 1)

    gort.go(acc)
    clients = [net.dial("tcp", str(ln.addr)) for _ in range(N)]
    for c in clients:
        gort.go(c.read, 1)
    while len(servers) < N:
        gort.sleep(0.01)
    gort.sleep(0.05)
    s0 = gort.stats()["sysmon_wakeups"]
    cpu0 = time.process_time()
    t0 = time.monotonic()

    def poke() -> None:
        """A plain thread: after 2 s it connects and sends; until then every G waits."""
        time.sleep(2)
        with socket.create_connection(("127.0.0.1", ln.addr.port)) as s:
            s.sendall(b"x")

    threading.Thread(target=poke).start()
    last = ln.accept()
    last.read(1)
    print(f"sockets {2 * N} idle_s {time.monotonic() - t0:.2f} "
          f"cpu_s {time.process_time() - cpu0:.3f} "
          f"sysmon_wakeups {gort.stats()['sysmon_wakeups'] - s0} "
          f"goroutines {gort.num_goroutine()}")
    for c in clients + servers:
        c.close()
    last.close()
    ln.close()


gort.run(main)
