"""Echo over loopback: server CPU per round trip (or per MB), gort.net against its peers.

    python bench/net_echo.py                      # 64-byte echo, 50 connections, 2 s x 3 reps
    python bench/net_echo.py --conns 500 --seconds 3 --reps 5
    python bench/net_echo.py --mode stream        # 1 MiB chunks echoed: server CPU per MB
    python bench/net_echo.py --mode tls           # 64-byte echo over TLS 1.3
    python bench/net_echo.py --mode compute       # one handler computes 2 s beside 50 light

Each server runs in a fresh process (``--serve SYSTEM`` prints its port); the
load comes from this process (selectors, non-blocking sockets, every
connection in a closed loop: send, wait for all of it back, send again).
After a warm-up, the server's CPU time (utime + stime from /proc) over the
window is divided by the round trips (or MB) completed in it: the figure to
trust on a shared machine, since it does not depend on how fast the load
generator is. Throughput and the p99 of the round trips' latency (as this
load generator sees it, its own queueing included, alike for every system)
are reported beside it. Systems alternate within each repetition, so drift
of the machine hits them alike; the table shows medians.

Modes:

- ``echo``: 64-byte messages, servers read up to 64 KiB at a time.
- ``stream``: each connection (default 4) keeps up to 2 MiB in flight, sent in
  1 MiB chunks; servers read up to 1 MiB at a time (gort and gevent into one
  reused buffer, as Go does). Server CPU per MB echoed.
- ``tls``: the echo over TLS 1.3 (a self-signed P-256 certificate made at run
  time with the ``openssl`` command in a temporary directory).
- ``compute``: issue 11's case: 50 light connections (each asks again 5 ms
  after its answer) and one that asks the server to compute for 2 s in pure
  code; the light answers' p99 and count during the computation.

Systems: gort (gort.net, a goroutine per connection), go (Go's net, a
goroutine per connection, GOMAXPROCS=1; bench/go/netpeer built with
``go build`` into a temporary directory), asyncio-streams, asyncio-protocol,
uvloop-protocol, gevent (StreamServer), trio (serve_listeners); the ones not
installed are skipped, saying so.
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import selectors
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
MSG = b"x" * 64
CHUNK = 1 << 20  # stream mode: bytes per send
WINDOW = 2 * CHUNK  # stream mode: bytes a connection keeps in flight
SPIN_S = 2.0  # compute mode: the heavy request's computation
THINK_S = 0.005  # compute mode: a light connection asks again this long after its answer
SYSTEMS = ["gort", "go", "asyncio-streams", "asyncio-protocol", "uvloop-protocol", "gevent",
           "trio"]
MODES = ["echo", "stream", "tls", "compute"]


# -- servers (run in their own process) ------------------------------------------


def _announce(port: int) -> None:
    print(port, flush=True)


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _compute_reply(data: bytes) -> bytes:
    """compute mode's answer to one line (one line in flight per connection)."""
    if data.startswith(b"spin"):
        _spin(SPIN_S)
        return b"done\n"
    return b"ok\n"


def _server_ctx(certdir: str, cls: Any = ssl.SSLContext) -> ssl.SSLContext:
    ctx: ssl.SSLContext = cls(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem"))
    return ctx


def serve_gort(mode: str, certdir: str) -> None:
    import gort
    import gort.net as net
    import gort.tls as tls

    compute = mode == "compute"

    def handle(c: net.Conn) -> None:
        with c:
            try:
                while data := c.read(65536):
                    c.write(_compute_reply(data) if compute else data)
            except ConnectionError:
                pass

    def handle_stream(c: net.Conn) -> None:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        with c:
            try:
                while n := c.read_into(buf):
                    c.write(view[:n])
            except ConnectionError:
                pass

    def main() -> None:
        ln = (tls.listen("tcp", "127.0.0.1:0", _server_ctx(certdir)) if mode == "tls"
              else net.listen("tcp", "127.0.0.1:0"))
        _announce(ln.addr.port)
        h = handle_stream if mode == "stream" else handle
        while True:
            gort.go(h, ln.accept())

    gort.run(main)


def _asyncio_protocol(mode: str, certdir: str, loop_factory: Any = None) -> None:
    import asyncio

    compute = mode == "compute"

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP,
                                                          socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            self.t.write(_compute_reply(data) if compute else data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Echo, "127.0.0.1", 0,
                                       ssl=_server_ctx(certdir) if mode == "tls" else None)
        _announce(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    if loop_factory is None:
        asyncio.run(main())
    else:
        loop_factory(main())


def serve_asyncio_protocol(mode: str, certdir: str) -> None:
    _asyncio_protocol(mode, certdir)


def serve_uvloop_protocol(mode: str, certdir: str) -> None:
    import uvloop

    _asyncio_protocol(mode, certdir, uvloop.run)


def serve_asyncio_streams(mode: str, certdir: str) -> None:
    import asyncio

    compute = mode == "compute"
    size = CHUNK if mode == "stream" else 65536

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(size):
                w.write(_compute_reply(data) if compute else data)
                await w.drain()
        except ConnectionError:
            pass
        w.close()

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, limit=size,
                                         ssl=_server_ctx(certdir) if mode == "tls" else None)
        _announce(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    asyncio.run(main())


def serve_gevent(mode: str, certdir: str) -> None:
    from gevent.server import StreamServer  # type: ignore[import-untyped]
    from gevent.ssl import SSLContext  # type: ignore[import-untyped]

    compute = mode == "compute"

    def handle(sock: Any, _addr: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if mode == "stream":
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n := sock.recv_into(buf):
                    sock.sendall(view[:n])
            else:
                while data := sock.recv(65536):
                    sock.sendall(_compute_reply(data) if compute else data)
        except ConnectionError:
            pass

    # gevent's own SSLContext: the stdlib's would block the whole process in OpenSSL
    kw = {"ssl_context": _server_ctx(certdir, SSLContext)} if mode == "tls" else {}
    srv = StreamServer(("127.0.0.1", 0), handle, **kw)
    srv.start()
    _announce(srv.server_port)
    srv.serve_forever()


def serve_trio(mode: str, certdir: str) -> None:
    import trio

    compute = mode == "compute"
    size = CHUNK if mode == "stream" else 65536

    async def handle(stream: Any) -> None:
        try:
            while data := await stream.receive_some(size):
                await stream.send_all(_compute_reply(data) if compute else data)
        except trio.BrokenResourceError:
            pass

    async def main() -> None:
        if mode == "tls":
            listeners = await trio.open_ssl_over_tcp_listeners(0, _server_ctx(certdir),
                                                               host="127.0.0.1")
            sock = listeners[0].transport_listener.socket
        else:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            sock = listeners[0].socket
        _announce(sock.getsockname()[1])
        await trio.serve_listeners(handle, listeners)

    trio.run(main)


# -- peers outside Python ----------------------------------------------------------


def build_go() -> str | None:
    """Build bench/go/netpeer into a temporary directory; its path, or None (said why)."""
    if shutil.which("go") is None:
        print("go: not run (no go command; apt-get install golang-go)", file=sys.stderr)
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="gort-netpeer-"), "netpeer")
    r = subprocess.run(["go", "build", "-o", out, "./netpeer"], cwd=os.path.join(HERE, "go"),
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print(f"go: not run (go build failed: {r.stderr.strip()})", file=sys.stderr)
        return None
    return out


def make_cert() -> str:
    """A temporary directory holding cert.pem and key.pem (self-signed, CN localhost)."""
    d = tempfile.mkdtemp(prefix="gort-netbench-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return d


def server_command(system: str, mode: str, certdir: str, gobin: str | None) -> list[str]:
    if system == "go":
        assert gobin is not None
        bufsize = str(CHUNK if mode == "stream" else 65536)
        if mode == "tls":
            return [gobin, "tls", bufsize, os.path.join(certdir, "cert.pem"),
                    os.path.join(certdir, "key.pem")]
        return [gobin, "compute"] if mode == "compute" else [gobin, "echo", bufsize]
    return [sys.executable, os.path.abspath(__file__), "--serve", system, "--mode", mode,
            "--certdir", certdir]


def start_server(cmd: list[str], name: str) -> tuple[subprocess.Popen[str], int] | None:
    """Start a server whose first line ends with its port; (process, port), or None (said why)."""
    env = dict(os.environ, GOMAXPROCS="1")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    assert p.stdout is not None
    line = p.stdout.readline()
    port = re.search(r"(\d+)\s*$", line)
    if port is None:
        p.kill()
        err = p.stderr.read() if p.stderr else ""
        print(f"{name}: not run ({(line + err).strip().splitlines()[-1:]})", file=sys.stderr)
        p.wait()
        return None
    return p, int(port.group(1))


# -- the load and the measurement ------------------------------------------------


def cpu_s(pid: int) -> float:
    """utime + stime of process pid, seconds (every thread)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p99_ms(lat: list[float]) -> float:
    lat.sort()
    return lat[int(len(lat) * 0.99)] * 1e3 if lat else float("nan")


def _connect(port: int, certdir: str | None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if certdir is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(certdir, "cert.pem"))
        s = ctx.wrap_socket(s, server_hostname="localhost")
    s.setblocking(False)
    return s


def load_echo(pid: int, port: int, conns: int, seconds: float,
              certdir: str | None) -> dict[str, float]:
    sel = selectors.DefaultSelector()
    socks = [_connect(port, certdir) for _ in range(conns)]
    for s in socks:
        sel.register(s, selectors.EVENT_READ, [0, time.monotonic()])
        s.send(MSG)
    count = 0
    lat: list[float] = []
    warm_end = time.monotonic() + min(0.5, seconds / 4)
    t_start = cpu_start = end = 0.0
    while True:
        now = time.monotonic()
        if not t_start and now >= warm_end:
            t_start, cpu_start, count = now, cpu_s(pid), 0
            end = now + seconds
        if t_start and now >= end:
            break
        for key, _ in sel.select(1.0):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            st = key.data
            try:
                d = conn.recv(65536)
            except ssl.SSLWantReadError:
                continue
            if not d:
                raise RuntimeError("the server closed a connection")
            st[0] += len(d)
            if st[0] >= len(MSG):
                st[0] -= len(MSG)
                count += 1
                now = time.monotonic()
                if t_start:
                    lat.append(now - st[1])
                st[1] = now
                conn.send(MSG)
    cpu = cpu_s(pid) - cpu_start
    wall = time.monotonic() - t_start
    for s in socks:
        s.close()
    return {"cpu": cpu / count * 1e6, "rate": count / wall, "p99_ms": _p99_ms(lat)}


def load_stream(pid: int, port: int, conns: int, seconds: float) -> dict[str, float]:
    sel = selectors.DefaultSelector()
    chunk = memoryview(b"y" * CHUNK)
    buf = bytearray(CHUNK)
    socks = [_connect(port, None) for _ in range(conns)]
    st = {s: [0, 0] for s in socks}  # bytes sent, bytes received
    for s in socks:
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    received = 0
    warm_end = time.monotonic() + min(0.5, seconds / 4)
    t_start = cpu_start = end = 0.0
    while True:
        now = time.monotonic()
        if not t_start and now >= warm_end:
            t_start, cpu_start, received = now, cpu_s(pid), 0
            end = now + seconds
        if t_start and now >= end:
            break
        for key, ev in sel.select(1.0):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            sent_recv = st[s]
            if ev & selectors.EVENT_READ:
                try:
                    n = s.recv_into(buf)
                except BlockingIOError:
                    n = -1
                if n == 0:
                    raise RuntimeError("the server closed a connection")
                if n > 0:
                    sent_recv[1] += n
                    received += n
            if ev & selectors.EVENT_WRITE and sent_recv[0] - sent_recv[1] < WINDOW:
                off = sent_recv[0] % CHUNK
                room = WINDOW - (sent_recv[0] - sent_recv[1])
                try:
                    sent_recv[0] += s.send(chunk[off:off + min(room, CHUNK - off)])
                except BlockingIOError:
                    pass
    cpu = cpu_s(pid) - cpu_start
    wall = time.monotonic() - t_start
    for s in socks:
        s.close()
    mb = received / 1e6
    return {"cpu": cpu / mb * 1e6, "rate": mb / wall, "p99_ms": float("nan")}


def load_compute(pid: int, port: int, conns: int) -> dict[str, float]:
    """Light requests answered while the heavy one computes, and their latency's p99.

    A light request still unanswered when the heavy answer arrives counts with the
    time it had waited by then (an event loop answers none during the computation)."""
    sel = selectors.DefaultSelector()
    heavy = _connect(port, None)
    lights = [_connect(port, None) for _ in range(conns)]
    index = {c: i for i, c in enumerate(lights)}
    sent: dict[socket.socket, float] = {}  # light connections waiting for an answer
    lat: list[float] = []
    due: list[tuple[float, int]] = []  # (when, index): light connections thinking
    cpu0 = cpu_s(pid)
    heavy.send(b"spin\n")
    for c in lights:
        sent[c] = time.monotonic()
        c.send(b"light\n")
        sel.register(c, selectors.EVENT_READ)
    sel.register(heavy, selectors.EVENT_READ)
    done = False
    deadline = time.monotonic() + 30
    while not done and time.monotonic() < deadline:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, i = heapq.heappop(due)
            sent[lights[i]] = time.monotonic()
            lights[i].send(b"light\n")
        for key, _ in sel.select(max(0.0, due[0][0] - now) if due else 0.1):
            c = key.fileobj
            assert isinstance(c, socket.socket)
            data = c.recv(100)
            if c is heavy:
                done = data.startswith(b"done")
                continue
            now = time.monotonic()
            lat.append(now - sent.pop(c))
            heapq.heappush(due, (now + THINK_S, index[c]))
    if not done:
        raise RuntimeError("the heavy request was not answered in 30 s")
    answered = len(lat)
    now = time.monotonic()
    lat.extend(now - t for t in sent.values())
    cpu = cpu_s(pid) - cpu0
    for c in [heavy, *lights]:
        c.close()
    return {"cpu": cpu, "rate": answered, "p99_ms": _p99_ms(lat)}


def measure(system: str, mode: str, conns: int, seconds: float, certdir: str,
            gobin: str | None) -> dict[str, float] | None:
    started = start_server(server_command(system, mode, certdir, gobin), system)
    if started is None:
        return None
    p, port = started
    try:
        if mode == "stream":
            return load_stream(p.pid, port, conns, seconds)
        if mode == "compute":
            return load_compute(p.pid, port, conns)
        return load_echo(p.pid, port, conns, seconds, certdir if mode == "tls" else None)
    finally:
        p.kill()
        p.wait()


UNITS = {"echo": ("CPU us/rt", "rt/s"), "tls": ("CPU us/rt", "rt/s"),
         "stream": ("CPU us/MB", "MB/s"), "compute": ("CPU s", "answered")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--certdir", default="", help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=MODES, default="echo")
    ap.add_argument("--conns", type=int, help="connections (default 50; stream mode 4)")
    ap.add_argument("--seconds", type=float, default=2.0, help="window per run (not compute)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated systems: " + ",".join(SYSTEMS))
    a = ap.parse_args()
    if a.serve:
        globals()["serve_" + a.serve.replace("-", "_")](a.mode, a.certdir)
        return
    conns = a.conns or (4 if a.mode == "stream" else 50)
    systems = [s for s in SYSTEMS if not a.only or s in a.only.split(",")]
    gobin = build_go() if "go" in systems else None
    if gobin is None and "go" in systems:
        systems.remove("go")
    certdir = make_cert() if a.mode == "tls" else ""
    results: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    for _ in range(a.reps):
        for system in list(systems):
            r = measure(system, a.mode, conns, a.seconds, certdir, gobin)
            if r is None:
                systems.remove(system)
            else:
                results[system].append(r)
    what = {"echo": "64-byte echo", "tls": "64-byte TLS echo", "stream": "1 MiB chunks echoed",
            "compute": f"light requests while one handler computes {SPIN_S:g} s"}[a.mode]
    print(f"{what}, {conns} connections, {a.seconds if a.mode != 'compute' else SPIN_S} s "
          f"x {a.reps} reps (medians; server CPU)")
    cpu_h, rate_h = UNITS[a.mode]
    print(f"{'system':18} {cpu_h:>12} {'(min-max)':>15} {rate_h:>10} {'p99 ms':>8}")
    for system, rs in results.items():
        if rs:
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            spread = f"{min(r['cpu'] for r in rs):.1f}-{max(r['cpu'] for r in rs):.1f}"
            print(f"{system:18} {med['cpu']:12.1f} {spread:>15} {med['rate']:10.0f} "
                  f"{med['p99_ms']:8.2f}")


if __name__ == "__main__":
    main()
