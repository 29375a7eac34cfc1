"""Run with `gort run --net`: http.client, urllib.request and requests fetch 50 URLs
concurrently from a goroutine HTTP server (gort.socketserver) whose handlers sleep 0.2 s
(time.sleep, patched). Prints one JSON line per client: bodies right, elapsed seconds,
ticks of a 10 ms ticker meanwhile, and the most OS threads seen. argv[1]: the host
the clients name (default 127.0.0.1; ``localhost`` is answered from /etc/hosts)."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import requests  # top-level import, after the patch (gort run --net)

import gort
from gort.socketserver import GoroutineHTTPServer

N = 50
DELAY = 0.2
HOST = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(DELAY)  # the patched time.sleep: this goroutine only
        body = f"body of {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def fetch_http_client(port: int, path: str) -> bytes:
    c = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        c.request("GET", path)
        return c.getresponse().read()
    finally:
        c.close()


def fetch_urllib(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as r:
        return r.read()  # type: ignore[no-any-return]


def fetch_requests(port: int, path: str) -> bytes:
    return requests.get(f"http://{HOST}:{port}{path}", timeout=30).content


def measure(name: str, fetch: Callable[[int, str], bytes], port: int) -> dict[str, Any]:
    """Fetch N URLs at once with fetch; what came back, how long, ticks, threads."""
    most = [threads()]
    ticks = [0]
    stop = gort.Chan[None]()
    tk = gort.Ticker(0.01)

    def tick() -> None:
        while True:
            i, _ = gort.select(tk.c.recv, stop.recv)
            if i == 1:
                return
            ticks[0] += 1
            most[0] = max(most[0], threads())

    gort.go(tick)
    bodies: dict[int, bytes] = {}

    def one(i: int) -> None:
        bodies[i] = fetch(port, f"/{name}/{i}")

    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for i in range(N):
        wg.go(one, i)
    wg.wait()
    elapsed = time.monotonic() - t0
    tk.stop()
    stop.close()
    right = sum(bodies[i] == f"body of /{name}/{i}".encode() for i in range(N))
    return {"client": name, "right": right, "elapsed": elapsed, "ticks": ticks[0],
            "threads": most[0]}


def main() -> None:
    srv = GoroutineHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)
    base = threads()
    for name, fetch in (("http.client", fetch_http_client), ("urllib", fetch_urllib),
                        ("requests", fetch_requests)):
        print(json.dumps({**measure(name, fetch, port), "base": base}), flush=True)
    srv.shutdown()
    srv.server_close()
    print("patched", "gort.patch" in sys.modules)


main()
