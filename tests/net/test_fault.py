"""Peers that misbehave: reset, half-close, one byte at a time, never read. Each fault
stays with its connection: the other goroutines keep being served."""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time

import pytest

import gort
import gort.net as net

from .helpers import conn_pair, echo_server, serve, write_until_error

pytestmark = pytest.mark.timeout(60)


def _reset(c: net.Conn) -> None:
    """Close c with an RST (SO_LINGER 0), as a crashed peer's kernel would."""
    c._fd.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def test_peer_reset_raises_connection_reset_with_gos_message() -> None:
    def main() -> tuple[str, int]:
        c, s = conn_pair()
        out: gort.Chan[BaseException] = gort.Chan(1)

        def reader() -> None:
            try:
                c.read(10)
            except BaseException as e:
                out.send(e)

        gort.go(reader)
        gort.sleep(0.01)  # parked in IO wait when the RST arrives
        _reset(s)
        e = out.recv()
        assert isinstance(e, ConnectionResetError), repr(e)
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            write_until_error(c)
        c.close()
        return str(e.strerror), e.errno or 0

    msg, code = gort.run(main)
    assert code == errno.ECONNRESET
    assert msg.startswith("read tcp 127.0.0.1:")
    assert msg.endswith(": read: connection reset by peer")


def test_half_closed_peer_reads_eof_and_still_receives() -> None:
    """A plain-socket peer shuts its write side: the Conn reads EOF, then writes on."""

    def main() -> bytes:
        ln = net.listen("tcp", "127.0.0.1:0")
        got: list[bytes] = []

        def peer() -> None:
            with socket.create_connection(("127.0.0.1", ln.addr.port)) as p:
                p.sendall(b"last words")
                p.shutdown(socket.SHUT_WR)
                buf = b""
                while True:
                    d = p.recv(100)
                    if not d:
                        break
                    buf += d
                got.append(buf)

        t = threading.Thread(target=peer)
        t.start()
        c = ln.accept()
        data = b""
        while True:
            d = c.read(4)
            if not d:
                break
            data += d
        assert c.read(4) == b""  # EOF stays EOF
        c.write(b"reply after EOF")
        c.close()
        gort.offload(t.join)
        ln.close()
        assert got == [b"reply after EOF"]
        return data

    assert gort.run(main) == b"last words"


def test_peer_sending_one_byte_at_a_time() -> None:
    def main() -> list[bytes]:
        c, s = conn_pair()
        lines = [b"x" * n + b"\n" for n in (1, 7, 100, 300)]

        def dribble() -> None:
            for line in lines:
                for i in range(len(line)):
                    s.write(line[i:i + 1])
                    if i % 50 == 0:
                        gort.sleep(0.001)

        gort.go(dribble)
        f = c.makefile("rb")
        out = [f.readline() for _ in lines]
        c.close()
        s.close()
        return out

    assert gort.run(main) == [b"x" * n + b"\n" for n in (1, 7, 100, 300)]


def test_writer_to_a_peer_that_never_reads_blocks_until_its_deadline_others_run_on() -> None:
    """The stuck writer parks; echo clients keep their round trips fast meanwhile."""

    def main() -> tuple[float, float, int]:
        stuck, _silent = conn_pair()
        ln = echo_server()
        worst = [0.0]
        rounds = [0]
        stop = [False]

        def echo_client() -> None:
            with net.dial("tcp", str(ln.addr)) as c:
                while not stop[0]:
                    t0 = time.monotonic()
                    c.write(b"ping")
                    assert c.read(4) == b"ping"
                    worst[0] = max(worst[0], time.monotonic() - t0)
                    rounds[0] += 1
                    gort.sleep(0.002)

        for _ in range(5):
            gort.go(echo_client)
        stuck.set_write_deadline(time.monotonic() + 0.5)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            write_until_error(stuck)
        blocked = time.monotonic() - t0
        stop[0] = True
        gort.sleep(0.05)
        stuck.close()
        _silent.close()
        ln.close()
        return blocked, worst[0], rounds[0]

    blocked, worst, rounds = gort.run(main)
    assert 0.49 <= blocked < 5, blocked
    assert rounds >= 100, rounds  # 5 clients x ~0.5 s / ~2 ms
    assert worst < 0.25, worst


def test_silent_client_times_out_its_handler_only() -> None:
    """A client that connects and never speaks: its handler's read deadline ends it."""

    def main() -> tuple[list[str], bytes]:
        ln = net.listen("tcp", "127.0.0.1:0")
        log: list[str] = []

        def handler(c: net.Conn) -> None:
            with c:
                c.set_read_deadline(time.monotonic() + 0.1)
                try:
                    d = c.read(100)
                except TimeoutError:
                    log.append("timeout")
                    return
                c.write(d.upper())

        serve(ln, handler)
        silent = net.dial("tcp", str(ln.addr))
        with net.dial("tcp", str(ln.addr)) as talker:
            talker.write(b"hi")
            reply = talker.read(100)
        gort.sleep(0.2)
        assert silent.read(1) == b""  # the handler gave up and closed
        silent.close()
        ln.close()
        return log, reply

    assert gort.run(main) == (["timeout"], b"HI")


@pytest.mark.parametrize("size", [4, 3, 1])
def test_data_and_fin_queued_before_the_reads_end_in_eof(size: int) -> None:
    # One edge announced both; after a short read the reader parked for an edge that
    # would never come (no EOF, a timeout instead).
    import threading
    import time

    def main() -> bytes:
        ln = net.listen("tcp", "127.0.0.1:0")

        def peer() -> None:
            with socket.create_connection(("127.0.0.1", ln.addr.port)) as p:
                p.sendall(b"last words")
                p.shutdown(socket.SHUT_WR)
                p.recv(1)

        t = threading.Thread(target=peer)
        t.start()
        c = ln.accept()
        gort.sleep(0.1)  # data and FIN both arrived before the first read
        c.set_read_deadline(time.monotonic() + 10)
        data = b""
        while d := c.read(size):
            data += d
        c.close()
        ln.close()
        t.join(timeout=10)
        return data

    assert gort.run(main) == b"last words"
