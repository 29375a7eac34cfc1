"""A small HTTP/1.1 server on gort.net: one goroutine per connection, h11 parses.

    python examples/http_server.py [--addr 127.0.0.1:8080]
    gort run examples/http_server.py --addr :8080          (the same)

Endpoints:

    GET /               "hello\\n"
    GET /compute?s=2    computes in pure Python for s seconds (0 <= s <= 30), never
                        yielding, then answers "computed for 2 s: N iterations\\n"

Keep-alive as HTTP/1.1 wants it (one connection, many requests; ``Connection:
close`` honoured); an idle connection is closed after 30 s. Prints ``listening on
http://HOST:PORT`` once it accepts; SIGINT or SIGTERM stop it (exit 0).

Why it is here: while one handler computes, the others are still served. The
computing goroutine never calls gort, yet sysmon preempts it every 10 ms and the
scheduler polls the network for the rest; in an asyncio, gevent or trio server
the same handler stops every other connection until it is done.

Needs h11 (``pip install -e '.[examples]'``).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import h11

import gort
import gort.net as net

IDLE_S = 30.0  # an idle keep-alive connection is closed after this long
MAX_COMPUTE_S = 30.0


def compute(seconds: float) -> int:
    """Busy for `seconds` of wall time in pure Python, never yielding; the loop count."""
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n


def route(method: str, target: str) -> tuple[int, bytes]:
    """(status, body) for a request."""
    url = urlsplit(target)
    if method not in ("GET", "HEAD"):
        return 405, b"method not allowed: use GET\n"
    if url.path == "/":
        return 200, b"hello\n"
    if url.path == "/compute":
        arg = parse_qs(url.query).get("s", ["1"])[0]
        try:
            s = float(arg)
        except ValueError:
            s = -1.0
        if not 0 <= s <= MAX_COMPUTE_S:
            return 400, f"s={arg}: want seconds between 0 and {MAX_COMPUTE_S:g}\n".encode()
        n = compute(s)
        return 200, f"computed for {s:g} s: {n} iterations\n".encode()
    return 404, f"{url.path}: not found; try / or /compute?s=2\n".encode()


def next_event(c: net.Conn, h: h11.Connection) -> object:
    """The next h11 event, reading from c as needed."""
    while True:
        ev = h.next_event()
        if ev is not h11.NEED_DATA:
            return ev
        h.receive_data(c.read(65536))


def send(c: net.Conn, h: h11.Connection, status: int, body: bytes, head: bool) -> None:
    headers = [("Content-Type", "text/plain; charset=utf-8"),
               ("Content-Length", str(len(body))), ("Server", "gort")]
    out = h.send(h11.Response(status_code=status, headers=headers,
                              reason=HTTPStatus(status).phrase)) or b""
    if not head:
        out += h.send(h11.Data(data=body)) or b""
    out += h.send(h11.EndOfMessage()) or b""
    c.write(out)


def handle(c: net.Conn) -> None:
    """Serve one connection: requests in turn until it closes, errs or idles out."""
    h = h11.Connection(h11.SERVER)
    with c:
        try:
            while True:
                c.set_read_deadline(time.monotonic() + IDLE_S)
                ev = next_event(c, h)
                if not isinstance(ev, h11.Request):
                    return  # ConnectionClosed: the client is done
                while not isinstance(next_event(c, h), h11.EndOfMessage):
                    pass  # a body: not used
                method, target = ev.method.decode("ascii"), ev.target.decode("ascii")
                status, body = route(method, target)
                send(c, h, status, body, method == "HEAD")
                if h.our_state is h11.MUST_CLOSE:
                    return
                h.start_next_cycle()
        except h11.RemoteProtocolError as e:
            if h.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                with contextlib.suppress(OSError):  # the client may be gone already
                    send(c, h, e.error_status_hint, f"bad request: {e}\n".encode(), False)
        except (OSError, UnicodeDecodeError):
            return  # timeouts, resets: nothing to answer


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="HTTP/1.1 on gort.net")
    ap.add_argument("--addr", default="127.0.0.1:8080", help="host:port (port 0: any free)")
    args = ap.parse_args(argv)
    sigs: gort.Chan[signal.Signals] = gort.Chan(1)
    gort.signal.notify(sigs, signal.SIGINT, signal.SIGTERM)
    ln = net.listen("tcp", args.addr)

    def accept_loop() -> None:
        while True:
            try:
                c = ln.accept()
            except net.ErrClosed:
                return
            gort.go(handle, c)

    gort.go(accept_loop)
    print(f"listening on http://{ln.addr}", flush=True)
    sig = sigs.recv()
    assert sig is not None
    ln.close()
    print(f"got {sig.name}, stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(gort.run(main, sys.argv[1:]))
