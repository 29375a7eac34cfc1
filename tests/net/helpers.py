"""Shared helpers for the gort.net tests (call them from inside a goroutine)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import gort
import gort.net as net


def echo(c: net.Conn) -> None:
    """A connection handler: echo everything until EOF or an error, then close."""
    with c:
        while True:
            try:
                d = c.read(65536)
            except OSError:
                return
            if not d:
                return
            c.write(d)


def echo_server(network: str = "tcp", address: str = "127.0.0.1:0") -> net.Listener:
    """A listener whose accept loop echoes every connection until EOF; close it to stop."""
    ln = net.listen(network, address)
    serve(ln, echo)
    return ln


def serve(ln: net.Listener, handler: Callable[[net.Conn], None]) -> None:
    """Accept connections on ln in a goroutine, each handled by handler in its own."""

    def loop() -> None:
        while True:
            try:
                c = ln.accept()
            except net.ErrClosed:
                return
            gort.go(handler, c)

    gort.go(loop)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def conn_pair() -> tuple[net.Conn, net.Conn]:
    """A connected (client, server) TCP pair over loopback."""
    ln = net.listen("tcp", "127.0.0.1:0")
    out: gort.Chan[net.Conn] = gort.Chan(1)
    gort.go(lambda: out.send(ln.accept()))
    c = net.dial("tcp", str(ln.addr))
    srv = out.recv()
    assert srv is not None
    ln.close()
    return c, srv


def write_until_error(c: net.Conn, sent: list[int] | None = None) -> None:
    """Write 64 KiB chunks until a write raises; count the bytes written in sent[0]."""
    chunk = b"w" * 65536
    while True:
        c.write(chunk)
        if sent is not None:
            sent[0] += len(chunk)
