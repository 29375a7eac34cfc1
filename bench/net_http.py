"""HTTP hello under wrk: requests/s and server CPU per request, gort against its peers.

    python bench/net_http.py                       # wrk -c50, 3 s x 3 reps
    python bench/net_http.py --conns 50 --seconds 5 --reps 5

Each server answers ``GET /`` with ``hello\\n`` (keep-alive) in a fresh process;
``wrk`` (one thread) drives it from this machine. The server's CPU time
(utime + stime from /proc) over wrk's run is divided by the requests wrk
completed: the figure to trust on a shared machine. Requests/s and wrk's p99
latency are reported beside it. Systems alternate within each repetition; the
table shows medians.

Systems: gort (examples/http_server.py: gort.net, a goroutine per connection,
h11 parsing), aiohttp (web.Application, one handler), gevent-pywsgi
(gevent.pywsgi.WSGIServer), go (Go's net/http, GOMAXPROCS=1, bench/go/netpeer
built with ``go build`` into a temporary directory). The ones not installed
(wrk itself, aiohttp, gevent, go, h11) are skipped, saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
from typing import Any

from net_echo import build_go, cpu_s, start_server

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEMS = ["gort", "aiohttp", "gevent-pywsgi", "go"]


def serve_aiohttp() -> None:
    from aiohttp import web

    async def hello(_request: Any) -> web.Response:
        return web.Response(body=b"hello\n", content_type="text/plain")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        print(sock.getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_gevent_pywsgi() -> None:
    from gevent.pywsgi import WSGIServer  # type: ignore[import-untyped]

    def app(_environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"hello\n"]

    srv = WSGIServer(("127.0.0.1", 0), app, log=None)
    srv.start()
    print(srv.server_port, flush=True)
    srv.serve_forever()


def server_command(system: str, gobin: str | None) -> list[str]:
    if system == "go":
        assert gobin is not None
        return [gobin, "http"]
    if system == "gort":
        return [sys.executable, os.path.join(HERE, "..", "examples", "http_server.py"),
                "--addr", "127.0.0.1:0"]
    return [sys.executable, os.path.abspath(__file__), "--serve", system]


def wrk(port: int, conns: int, seconds: int) -> tuple[float, float, float]:
    """(requests completed, requests/s, p99 ms) of one wrk run against 127.0.0.1:port."""
    r = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
                        f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                       timeout=seconds * 10 + 30, check=True)
    done = re.search(r"(\d+) requests in", r.stdout)
    rate = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", r.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", r.stdout)
    if done is None or rate is None or p99 is None or errors is not None:
        raise RuntimeError(f"wrk said:\n{r.stdout}{r.stderr}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return float(done.group(1)), float(rate.group(1)), float(p99.group(1)) * scale


def measure(system: str, conns: int, seconds: int,
            gobin: str | None) -> dict[str, float] | None:
    started = start_server(server_command(system, gobin), system)
    if started is None:
        return None
    p, port = started
    try:
        wrk(port, conns, 1)  # warm-up (connections, caches, h11's first parse)
        cpu0 = cpu_s(p.pid)
        n, rate, p99 = wrk(port, conns, seconds)
        cpu = cpu_s(p.pid) - cpu0
        return {"cpu": cpu / n * 1e6, "rate": rate, "p99_ms": p99}
    finally:
        p.kill()
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated systems: " + ",".join(SYSTEMS))
    a = ap.parse_args()
    if a.serve:
        globals()["serve_" + a.serve.replace("-", "_")]()
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk): nothing measured")
    systems = [s for s in SYSTEMS if not a.only or s in a.only.split(",")]
    gobin = build_go() if "go" in systems else None
    if gobin is None and "go" in systems:
        systems.remove("go")
    results: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    for _ in range(a.reps):
        for system in list(systems):
            r = measure(system, a.conns, a.seconds, gobin)
            if r is None:
                systems.remove(system)
            else:
                results[system].append(r)
    print(f"HTTP hello, wrk -t1 -c{a.conns}, {a.seconds} s x {a.reps} reps "
          f"(medians; server CPU per request)")
    print(f"{'system':15} {'CPU us/req':>11} {'(min-max)':>13} {'req/s':>9} {'p99 ms':>8}")
    for system, rs in results.items():
        if rs:
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            spread = f"{min(r['cpu'] for r in rs):.1f}-{max(r['cpu'] for r in rs):.1f}"
            print(f"{system:15} {med['cpu']:11.1f} {spread:>13} {med['rate']:9.0f} "
                  f"{med['p99_ms']:8.2f}")


if __name__ == "__main__":
    main()
