"""One handler computes for 2 s while 50 light connections keep asking (issue 11).

The server runs here, under gort; the load comes from a plain Python client
process (selectors, no gort) started through gort.offload, which measures the
light requests' latency while the heavy one is being computed. Each light
connection asks again 5 ms after its answer, so the client itself stays light
(it does not compete with the server for the CPU as a closed loop would). Prints
key=value fields: light_during_spin (requests answered during the spin),
p99_ms and max_ms of those, spin_done.
"""

import subprocess
import sys
import time

import gort
import gort.net as net

SPIN_S = 2.0

CLIENT = r"""
import heapq, selectors, socket, sys, time
THINK_S = 0.005  # each light connection asks again 5 ms after its answer: light load
port = int(sys.argv[1])
sel = selectors.DefaultSelector()
heavy = socket.create_connection(("127.0.0.1", port))
heavy.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lights = []
for _ in range(50):
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setblocking(False)
    lights.append(c)
sent = {}
lat = []
due = []  # (when, index): light connections waiting to ask again
spin_start = time.monotonic()
heavy.sendall(b"spin\n")
for c in lights:
    sent[c] = time.monotonic()
    c.sendall(b"light\n")
    sel.register(c, selectors.EVENT_READ)
heavy.setblocking(False)
sel.register(heavy, selectors.EVENT_READ)
done = False
end = time.monotonic() + 30
while not done and time.monotonic() < end:
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, i = heapq.heappop(due)
        sent[lights[i]] = time.monotonic()
        lights[i].sendall(b"light\n")
    timeout = max(0.0, due[0][0] - now) if due else 0.1
    for key, _ in sel.select(timeout):
        c = key.fileobj
        data = c.recv(100)
        if c is heavy:
            done = data.startswith(b"done")
            continue
        now = time.monotonic()
        lat.append(now - sent[c])
        heapq.heappush(due, (now + THINK_S, lights.index(c)))
spin_end = time.monotonic()
lat.sort()
p99 = lat[int(len(lat) * 0.99)] if lat else float("inf")
worst = lat[-1] * 1e3 if lat else -1
print(f"light_during_spin={len(lat)} p99_ms={p99 * 1e3:.1f} max_ms={worst:.1f} "
      f"spin_done={done} wall_s={spin_end - spin_start:.2f}")
"""


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def handle(c: net.Conn) -> None:
    with c:
        f = c.makefile("rb")
        try:
            for line in f:
                if line == b"spin\n":
                    spin(SPIN_S)
                    c.write(b"done\n")
                else:
                    c.write(b"ok\n")
        except ConnectionError:
            pass  # the client is done and went away


def main() -> None:
    ln = net.listen("tcp", "127.0.0.1:0")

    def accept_loop() -> None:
        while True:
            try:
                c = ln.accept()
            except net.ErrClosed:
                return
            gort.go(handle, c)

    gort.go(accept_loop)
    r = gort.offload(subprocess.run, [sys.executable, "-c", CLIENT, str(ln.addr.port)],
                     capture_output=True, text=True, timeout=45)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    ln.close()


main()
