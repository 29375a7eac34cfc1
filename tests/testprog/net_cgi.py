"""Under `gort run --net`: http.server.CGIHTTPRequestHandler with gort.socketserver's mixin.

The handler forks; the child dup2s the connection (a gort socket) onto its stdin and
stdout and execs a CGI script, which reads the POST body with blocking reads and answers
with the body's length, its digest and 256 KiB more. Phase 1: a client on a plain thread
sends each body in slow pieces (the script finds the socket empty between them). Phase 2:
8 goroutine clients at once, in the server's own thread, sending in slow pieces too:
each handler's os.waitpid must park only its goroutine, or the clients never finish
their bodies. Prints JSON lines."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import tempfile
import threading
import time
import warnings

import gort
import gort.sync
from gort.socketserver import GoroutineMixIn

warnings.simplefilter("ignore", DeprecationWarning)  # CGIHTTPRequestHandler, 3.13

BODY = 300_000
EXTRA = 256 * 1024
# /bin/sh: the child runs as nobody when we are root, and cannot reach our interpreter.
# head(1) reads with blocking reads and fails on EAGAIN ("Resource temporarily unavailable").
SCRIPT = f"""#!/bin/sh
tmp=$(mktemp)
head -c "$CONTENT_LENGTH" > "$tmp"
n=$(wc -c < "$tmp")
sum=$(sha256sum < "$tmp" | cut -d' ' -f1)
rm -f "$tmp"
printf 'Content-Type: text/plain\\r\\n\\r\\n%s %s \\n' "$n" "$sum"
head -c {EXTRA} /dev/zero | tr '\\0' y
"""


class Server(GoroutineMixIn, http.server.HTTPServer):
    pass


class Handler(http.server.CGIHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def post(port: int, body: bytes, slow: bool) -> tuple[str, int]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest("POST", "/cgi-bin/echo.sh")
    c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    step = len(body) // 6 if slow else len(body)
    for i in range(0, len(body), step):
        c.send(body[i:i + step])
        if slow:
            time.sleep(0.05)
    r = c.getresponse()
    data = r.read()
    c.close()
    first, _, rest = data.partition(b"\n")
    return first.decode(), len(rest)


def main() -> None:
    root = tempfile.mkdtemp()
    os.chmod(root, 0o755)  # the CGI child runs as nobody when we are root
    os.mkdir(os.path.join(root, "cgi-bin"), 0o755)
    script = os.path.join(root, "cgi-bin", "echo.sh")
    with open(script, "w") as f:
        f.write(SCRIPT)
    os.chmod(script, 0o755)
    os.chdir(root)
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    gort.go(srv.serve_forever, 0.05)

    bodies = [os.urandom(BODY) for _ in range(8)]
    want = [f"{BODY} {hashlib.sha256(b).hexdigest()} " for b in bodies]

    got: list[tuple[str, int]] = []

    def plain() -> None:
        got.extend(post(port, b, slow=True) for b in bodies[:2])

    t = threading.Thread(target=plain)
    t.start()
    gort.offload(t.join)
    print(json.dumps({"phase": 1, "right": sum(g == (w, EXTRA)
                                               for g, w in zip(got, want, strict=False)),
                      "got": [g[0][:40] for g in got]}), flush=True)

    results: list[tuple[str, int]] = [("", 0)] * len(bodies)
    ticks = [0]
    stop = [False]

    def ticker() -> None:
        while not stop[0]:
            gort.sleep(0.01)
            ticks[0] += 1

    gort.go(ticker)
    wg = gort.sync.WaitGroup()
    t0 = time.monotonic()
    for i, b in enumerate(bodies):
        wg.add(1)

        def one(i: int = i, b: bytes = b) -> None:
            try:
                results[i] = post(port, b, slow=True)
            finally:
                wg.done()

        gort.go(one)
    wg.wait()
    elapsed = time.monotonic() - t0
    stop[0] = True
    print(json.dumps({"phase": 2, "right": sum(g == (w, EXTRA)
                                               for g, w in zip(results, want, strict=True)),
                      "ticks": ticks[0], "elapsed": elapsed}), flush=True)
    srv.shutdown()
    srv.server_close()


main()
