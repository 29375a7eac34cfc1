"""GoroutineMixIn without gort.patch.net(), its listener wrapped with a stdlib context
after binding (http.server's docs): a TLS client that handshakes and then waits 1 s
before its request must not hold up another (the stdlib SSLSocket blocked the thread in
the handler's read: 1.2 s). Prints whether the normal client's
wait under 0.6 s and the listener's module. The clients run in another process, the
main goroutine polls it with gort.sleep."""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import sys
import tempfile

import trustme

import gort
from gort.socketserver import GoroutineHTTPServer


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    srv = GoroutineHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = server_ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
        f.write(ca.cert_pem.bytes())
    client = f"""
import socket, ssl, threading, time, urllib.request
ctx = ssl.create_default_context(cafile={f.name!r})
got = {{}}
def slow():
    raw = socket.create_connection(("127.0.0.1", {port}), timeout=30)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
        time.sleep(1.0)
        t.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        got["slow"] = t.recv(100).startswith(b"HTTP/1.0 200")
a = threading.Thread(target=slow)
a.start()
time.sleep(0.3)
t0 = time.monotonic()
with urllib.request.urlopen("https://127.0.0.1:{port}/", context=ctx, timeout=30) as r:
    got["normal"] = r.read()
got["fast"] = time.monotonic() - t0 < 0.6
a.join()
print(sorted(got.items()))
"""
    p = subprocess.Popen([sys.executable, "-c", client], stdout=subprocess.PIPE, text=True)
    while p.poll() is None:
        gort.sleep(0.05)
    os.unlink(f.name)
    assert p.stdout is not None
    out = p.stdout.read().strip()
    srv.shutdown()
    srv.server_close()
    print(out, type(srv.socket).__module__)


main()
