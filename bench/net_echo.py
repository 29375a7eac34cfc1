"""64-byte echo over loopback: server CPU per round trip, gort.net against its peers.

    python bench/net_echo.py                      # 50 connections, 2 s per run, 3 reps
    python bench/net_echo.py --conns 500 --seconds 3 --reps 5

Each server runs in a fresh process (``--serve SYSTEM`` prints its port); the
load comes from this process (selectors, non-blocking sockets, every
connection in a closed loop: send 64 bytes, wait for them back, send again).
After a warm-up, the server's CPU time (utime + stime from /proc) over the
window is divided by the round trips completed in it: the figure to trust on
a shared machine, since it does not depend on how fast the load generator
is. Throughput is reported beside it. Systems alternate within each
repetition, so drift of the machine hits them alike; the table shows medians.

Systems: gort (gort.net, a goroutine per connection), asyncio-streams,
asyncio-protocol, uvloop-protocol, gevent (StreamServer), trio (serve_tcp);
the ones not installed are skipped.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

MSG = b"x" * 64
SYSTEMS = ["gort", "asyncio-streams", "asyncio-protocol", "uvloop-protocol", "gevent", "trio"]


# -- servers (run in their own process) ------------------------------------------


def _announce(port: int) -> None:
    print(port, flush=True)


def serve_gort() -> None:
    import gort
    import gort.net as net

    def handle(c: net.Conn) -> None:
        with c:
            try:
                while data := c.read(65536):
                    c.write(data)
            except ConnectionError:
                pass

    def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        _announce(ln.addr.port)
        while True:
            gort.go(handle, ln.accept())

    gort.run(main)


def _asyncio_protocol(loop_factory: Any = None) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP,
                                                          socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            self.t.write(data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Echo, "127.0.0.1", 0)
        _announce(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    if loop_factory is None:
        asyncio.run(main())
    else:
        loop_factory(main())


def serve_asyncio_protocol() -> None:
    _asyncio_protocol()


def serve_uvloop_protocol() -> None:
    import uvloop

    _asyncio_protocol(uvloop.run)


def serve_asyncio_streams() -> None:
    import asyncio

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except ConnectionError:
            pass
        w.close()

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        _announce(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    asyncio.run(main())


def serve_gevent() -> None:
    from gevent.server import StreamServer  # type: ignore[import-untyped]

    def handle(sock: Any, _addr: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except ConnectionError:
            pass

    srv = StreamServer(("127.0.0.1", 0), handle)
    srv.start()
    _announce(srv.server_port)
    srv.serve_forever()


def serve_trio() -> None:
    import trio

    async def handle(stream: Any) -> None:
        try:
            while data := await stream.receive_some(65536):
                await stream.send_all(data)
        except trio.BrokenResourceError:
            pass

    async def main() -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        _announce(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(handle, listeners)

    trio.run(main)


# -- the load and the measurement ------------------------------------------------


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(system: str, conns: int, seconds: float) -> dict[str, float] | None:
    p = subprocess.Popen([sys.executable, __file__, "--serve", system],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line.strip().isdigit():
            err = p.stderr.read() if p.stderr else ""
            print(f"{system}: not run ({(line + err).strip().splitlines()[-1:]})",
                  file=sys.stderr)
            return None
        port = int(line)
        sel = selectors.DefaultSelector()
        socks = []
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, [0])
            socks.append(s)
        for s in socks:
            s.send(MSG)
        count = 0
        warm_end = time.monotonic() + min(0.5, seconds / 4)
        t_start = 0.0
        cpu_start = 0.0
        end = 0.0
        while True:
            now = time.monotonic()
            if not t_start and now >= warm_end:
                t_start, cpu_start, count = now, _cpu_s(p.pid), 0
                end = now + seconds
            if t_start and now >= end:
                break
            for key, _ in sel.select(1.0):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                got = key.data
                d = conn.recv(65536)
                if not d:
                    raise RuntimeError(f"{system}: the server closed a connection")
                got[0] += len(d)
                if got[0] >= len(MSG):
                    got[0] -= len(MSG)
                    count += 1
                    conn.send(MSG)
        cpu = _cpu_s(p.pid) - cpu_start
        wall = time.monotonic() - t_start
        for s in socks:
            s.close()
        return {"cpu_us_per_rt": cpu / count * 1e6, "rt_per_s": count / wall}
    finally:
        p.kill()
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated systems")
    a = ap.parse_args()
    if a.serve:
        globals()["serve_" + a.serve.replace("-", "_")]()
        return
    systems = [s for s in SYSTEMS if not a.only or s in a.only.split(",")]
    results: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    for _ in range(a.reps):
        for system in systems:
            r = measure(system, a.conns, a.seconds)
            if r is not None:
                results[system].append(r)
    print(f"64-byte echo, {a.conns} connections, {a.seconds} s x {a.reps} reps "
          f"(medians; server CPU per round trip)")
    print(f"{'system':18} {'CPU us/rt':>10} {'rt/s':>10}")
    for system, rs in results.items():
        if not rs:
            continue
        cpu = statistics.median(r["cpu_us_per_rt"] for r in rs)
        rate = statistics.median(r["rt_per_s"] for r in rs)
        print(f"{system:18} {cpu:10.1f} {rate:10.0f}")


if __name__ == "__main__":
    main()
