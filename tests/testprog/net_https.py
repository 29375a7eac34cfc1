"""Run with `gort run --net`: urllib.request fetches 30 HTTPS URLs concurrently from a
goroutine HTTPS server with a test CA (trustme); handlers sleep 0.2 s. TLS through
ssl.SSLContext.sslsocket_class on both sides. Prints JSON: bodies right, elapsed,
threads, the classes of the sockets, and what an untrusted client got."""

from __future__ import annotations

import http.server
import json
import os
import ssl
import time
import urllib.error
import urllib.request

import trustme

import gort
from gort.socketserver import GoroutineHTTPServer

N = 30


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.2)
        body = f"secret {self.path} over {self.connection.version()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Server(GoroutineHTTPServer):
    errors: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        self.errors.append(type(sys.exc_info()[1]).__name__)


def main() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = server_ctx.wrap_socket(srv.socket, server_side=True,
                                        do_handshake_on_connect=False)
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)
    base = len(os.listdir("/proc/self/task"))
    bodies: dict[int, bytes] = {}
    classes = set()

    def fetch(i: int) -> None:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/{i}", context=client_ctx,
                                    timeout=30) as r:
            classes.add(type(r.fp.raw._sock).__module__ + "." + type(r.fp.raw._sock).__name__)
            bodies[i] = r.read()

    t0 = time.monotonic()
    wg = gort.sync.WaitGroup()
    for i in range(N):
        wg.go(fetch, i)
    wg.wait()
    elapsed = time.monotonic() - t0
    threads = len(os.listdir("/proc/self/task"))
    try:
        urllib.request.urlopen(f"https://127.0.0.1:{port}/x", timeout=30,
                               context=ssl.create_default_context())
        untrusted = "accepted"
    except urllib.error.URLError as e:
        untrusted = type(e.reason).__name__
    srv.shutdown()
    srv.server_close()
    print(json.dumps({
        "right": sum(bodies.get(i, b"").startswith(f"secret /{i} over TLSv1".encode())
                     for i in range(N)),
        "elapsed": elapsed, "threads": threads, "base": base, "classes": sorted(classes),
        "server_class": type(srv.socket).__module__ + "." + type(srv.socket).__name__,
        "untrusted": untrusted, "server_errors": srv.errors}))


main()
