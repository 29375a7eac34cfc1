"""No patch: a GoroutineHTTPServer-style server (gort.socketserver.GoroutineMixIn) is hit by
50 concurrent clients (gort.socket sockets) while one handler computes for 2 s. Prints
JSON: how many light answers were right and how many came before the heavy one."""

from __future__ import annotations

import http.server
import json
import socketserver
import time

import gort
from gort import socket as gsocket
from gort.socketserver import GoroutineMixIn

N = 50
COMPUTE_S = 2.0


class Server(GoroutineMixIn, http.server.HTTPServer):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/compute":
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < COMPUTE_S:
                n += 1
            body = b"computed"
        else:
            body = f"light {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def get(port: int, path: str) -> tuple[bytes, float]:
    with gsocket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1], time.monotonic()


def main() -> None:
    assert issubclass(Server, socketserver.TCPServer)
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)
    heavy: dict[str, object] = {}
    started = gort.Chan[None](1)

    def compute() -> None:
        started.send(None)
        heavy["body"], heavy["done"] = get(port, "/compute")

    wg = gort.sync.WaitGroup()
    wg.go(compute)
    started.recv()
    gort.sleep(0.2)  # the heavy request is in its handler, computing
    light: dict[int, tuple[bytes, float]] = {}
    for i in range(N):
        wg.go(lambda i=i: light.__setitem__(i, get(port, f"/{i}")))
    wg.wait()
    srv.shutdown()
    srv.server_close()
    done = heavy["done"]
    assert isinstance(done, float)
    print(json.dumps({
        "heavy": heavy["body"] == b"computed",
        "right": sum(light[i][0] == f"light /{i}".encode() for i in range(N)),
        "before_heavy": sum(light[i][1] < done for i in range(N)),
        "socket_type": type(srv.socket).__name__,
    }))


gort.run(main)
