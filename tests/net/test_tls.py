"""gort.tls: handshakes, echo, deadlines, close, many connections, TLS over net.pipe().

A test CA and a server certificate (localhost, 127.0.0.1) are made at test time with
the openssl command (no test keys in the repository).
"""

from __future__ import annotations

import random
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import gort
import gort.net as net
import gort.tls as tls

from .helpers import echo, serve

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(shutil.which("openssl") is None,
                                 reason="the openssl command makes the test certificates")]

_LEAF_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tls")
    (d / "leaf.ext").write_text(_LEAF_EXT)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=gort test CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "leaf.ext"],
    ):
        subprocess.run(["openssl", *cmd], cwd=d, check=True, capture_output=True, timeout=30)
    return d


def server_ctx(d: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "srv.pem", d / "srv.key")
    return ctx


def client_ctx(d: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(d / "ca.pem"))


def tls_echo(ln: net.Listener) -> None:
    serve(ln, echo)


def test_echo_by_name_and_by_address(certs: Path) -> None:
    def main() -> list[object]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        tls_echo(ln)
        out: list[object] = []
        for addr in (f"localhost:{ln.addr.port}", str(ln.addr)):
            with tls.dial("tcp", addr, client_ctx(certs)) as c:
                assert isinstance(c, net.Conn)
                assert c.version == "TLSv1.3"
                assert c.remote_addr == ln.addr
                for i in range(3):
                    c.write(b"hello %d" % i)
                    out.append(c.read(100))
                f = c.makefile("rwb")
                f.write(b"line\n")
                f.flush()
                out.append(f.readline())
        assert repr(ln).startswith("<gort.tls.Listener tcp 127.0.0.1:")
        ln.close()
        return out

    want = [b"hello 0", b"hello 1", b"hello 2", b"line\n"]
    assert gort.run(main) == want + want


def test_wrong_hostname_fails_the_handshake_on_both_sides(certs: Path) -> None:
    def main() -> tuple[str, str]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        got: gort.Chan[BaseException] = gort.Chan(1)

        def handle(c: net.Conn) -> None:
            try:
                c.read(10)
            except OSError as e:
                got.send(e)
            finally:
                c.close()

        serve(ln, handle)
        with pytest.raises(ssl.SSLCertVerificationError) as ei:
            tls.dial("tcp", str(ln.addr), client_ctx(certs), server_hostname="example.org")
        e = ei.value
        assert e.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
        srv_err = got.recv()
        assert isinstance(srv_err, ssl.SSLError)
        ln.close()
        return str(e), str(srv_err)

    cli, srv = gort.run(main)
    assert cli.startswith("handshake tcp 127.0.0.1:"), cli
    assert "CERTIFICATE_VERIFY_FAILED" in cli and "example.org" in cli, cli
    assert srv.startswith("handshake tcp 127.0.0.1:"), srv  # the lazy handshake in read
    assert "ALERT_BAD_CERTIFICATE" in srv, srv


def test_handshake_error_is_kept_and_unknown_ca_fails(certs: Path) -> None:
    def main() -> None:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        tls_echo(ln)
        c = tls.client(net.dial("tcp", str(ln.addr)), ssl.create_default_context(),
                       "localhost")  # the system's CAs: ours is not among them
        with pytest.raises(ssl.SSLCertVerificationError):
            c.write(b"x")
        with pytest.raises(ssl.SSLCertVerificationError):  # the same error again
            c.read(1)
        c.close()
        raw = net.dial("tcp", str(ln.addr))
        with pytest.raises(ValueError, match="pass server_hostname"):
            tls.client(raw, client_ctx(certs), None)
        raw.close()
        with pytest.raises(TypeError, match=r"ssl\.SSLContext"):
            tls.listen("tcp", "127.0.0.1:0", "cert.pem")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="no DTLS"):
            tls.dial("udp", str(ln.addr), client_ctx(certs))
        ln.close()

    gort.run(main)


def test_deadline_during_handshake_and_read(certs: Path) -> None:
    def main() -> None:
        # A server that accepts and never speaks TLS: the client's handshake times out.
        raw = net.listen("tcp", "127.0.0.1:0")
        held: list[net.Conn] = []
        serve(raw, held.append)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            tls.dial("tcp", str(raw.addr), client_ctx(certs), timeout=0.1)
        took = time.monotonic() - t0
        assert 0.09 <= took < 5, took
        assert str(ei.value).endswith(": i/o timeout"), ei.value
        assert str(ei.value).startswith("handshake tcp 127.0.0.1:"), ei.value

        # A silent TLS client: the server's lazy handshake times out at its deadline.
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        quiet = net.dial("tcp", str(ln.addr))
        s = ln.accept()
        s.set_deadline(time.monotonic() + 0.05)
        with pytest.raises(TimeoutError):
            s.read(10)
        # The client speaks at last: the server's handshake resumes where it stopped.
        late = tls.client(quiet, client_ctx(certs), "localhost")
        gort.go(late.write, b"hi")
        s.set_deadline(None)
        assert s.read(10) == b"hi"
        s.close()
        late.close()

        # After the handshake: a read deadline, then the data still arrives.
        tls_echo(ln)
        c = tls.dial("tcp", str(ln.addr), client_ctx(certs))
        c.set_read_deadline(time.monotonic() + 0.05)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            c.read(10)
        assert 0.045 <= time.monotonic() - t0 < 5
        assert str(ei.value) == f"read tcp {c.local_addr}->{c.remote_addr}: i/o timeout"
        c.set_read_deadline(None)
        c.write(b"late")
        assert c.read(10) == b"late"
        c.close()
        ln.close()
        raw.close()
        for h in held:
            h.close()

    gort.run(main)


def test_close_unblocks_a_read_and_close_write_sends_eof(certs: Path) -> None:
    def main() -> list[object]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        srv: gort.Chan[tls.Conn] = gort.Chan(1)

        def handshake_and_send(c: net.Conn) -> None:
            assert isinstance(c, tls.Conn)
            c.handshake()
            srv.send(c)

        serve(ln, handshake_and_send)
        c = tls.dial("tcp", str(ln.addr), client_ctx(certs))
        s = srv.recv()
        assert s is not None
        out: list[object] = []
        # close_write: the peer reads EOF after the data; this end still reads.
        c.write(b"req")
        c.close_write()
        assert s.read(10) == b"req"
        assert s.read(10) == b""
        s.write(b"resp")
        assert c.read(10) == b"resp"
        done: gort.Chan[str] = gort.Chan(1)

        def reader() -> None:  # c has not read EOF: it blocks
            try:
                c.read(10)
            except net.ErrClosed as e:
                done.send(str(e))

        gort.go(reader)
        gort.sleep(0.02)
        t0 = time.monotonic()
        c.close()
        out.append(done.recv())
        assert time.monotonic() - t0 < 2
        with pytest.raises(net.ErrClosed):
            c.write(b"x")
        c.close()  # twice: a no-op
        assert s.read(10) == b""
        s.close()
        ln.close()
        return out

    (msg,) = gort.run(main)
    assert msg.startswith("read tcp 127.0.0.1:") and msg.endswith(
        ": use of closed network connection"), msg


def test_many_concurrent_tls_conns(certs: Path) -> None:
    """50 goroutines x 20 round trips of random sizes, every byte checked (seeded)."""
    seed = 20261130
    rng = random.Random(seed)
    plans = [[rng.randrange(1, 40000) for _ in range(20)] for _ in range(50)]

    def main() -> int:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        tls_echo(ln)
        cctx = client_ctx(certs)
        total = gort.Chan[int](len(plans))

        def client(i: int, sizes: list[int]) -> None:
            n = 0
            with tls.dial("tcp", str(ln.addr), cctx) as c:
                f = c.makefile("rb")
                for j, size in enumerate(sizes):
                    msg = bytes([(i + j) % 251]) * size
                    c.write(msg)
                    back = f.read(size)
                    assert back == msg, (seed, i, j, size, len(back))
                    n += size
            total.send(n)

        for i, sizes in enumerate(plans):
            gort.go(client, i, sizes)
        got = sum(total.recv() or 0 for _ in plans)
        ln.close()
        return got

    assert gort.run(main) == sum(map(sum, plans))


def test_tls_over_pipe(certs: Path) -> None:
    def main() -> list[object]:
        a, b = net.pipe()
        c = tls.client(a, client_ctx(certs), "localhost")
        s = tls.server(b, server_ctx(certs))
        assert c.fileno() == -1
        out: list[object] = []

        def echo() -> None:
            with s:
                while d := s.read(1000):
                    s.write(d)

        gort.go(echo)
        for i in range(5):
            msg = b"p%d" % i * (i * 3000 + 1)
            c.write(msg)
            got = b""
            while len(got) < len(msg):
                got += c.read(100000)
            out.append(got == msg)
        out.append(c.version)
        c.set_read_deadline(time.monotonic() + 0.05)
        with pytest.raises(TimeoutError, match="i/o timeout"):
            c.read(10)
        c.set_read_deadline(None)
        c.close_write()  # the server reads EOF and closes
        out.append(c.read(10))
        c.close()
        # A wrong name over a pipe fails as over a socket.
        a2, b2 = net.pipe()
        c2 = tls.client(a2, client_ctx(certs), "example.org")
        s2 = tls.server(b2, server_ctx(certs))
        srv_err: gort.Chan[str] = gort.Chan(1)

        def srv_handshake() -> None:
            try:
                s2.handshake()
            except ssl.SSLError as e:
                srv_err.send(type(e).__name__)
            finally:
                s2.close()

        gort.go(srv_handshake)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"^handshake pipe pipe:0->pipe:0: "):
            c2.handshake()
        c2.close()
        out.append(srv_err.recv())
        return out

    assert gort.run(main) == [True] * 5 + ["TLSv1.3", b"", "SSLError"]


def test_a_read_and_a_write_started_together_share_one_handshake(certs: Path) -> None:
    def main() -> list[object]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        got: gort.Chan[object] = gort.Chan(2)

        def handle(c: net.Conn) -> None:
            gort.go(lambda: got.send(c.read(100)))  # both start before any handshake
            c.write(b"greeting")
            got.send("written")

        serve(ln, handle)
        c = tls.client(net.dial("tcp", str(ln.addr)), client_ctx(certs), "localhost")
        assert c.version is None  # no handshake yet
        assert c.read(100) == b"greeting"
        c.write(b"reply")
        out = sorted([got.recv(), got.recv()], key=str)
        c.close()
        ln.close()
        return out

    assert gort.run(main) == [b"reply", "written"]


def test_tls_over_unix(certs: Path, tmp_path: Path) -> None:
    def main() -> bytes:
        path = str(tmp_path / "s.sock")
        ln = tls.listen("unix", path, server_ctx(certs))
        tls_echo(ln)
        with tls.dial("unix", path, client_ctx(certs), server_hostname="localhost") as c:
            c.write(b"over unix")
            data = c.read(100)
        ln.close()
        return data

    assert gort.run(main) == b"over unix"


def test_close_unblocks_a_read_over_a_pipe(certs: Path) -> None:
    def main() -> str:
        a, b = net.pipe()
        c = tls.client(a, client_ctx(certs), "localhost")
        s = tls.server(b, server_ctx(certs))
        gort.go(s.handshake)
        c.handshake()
        done: gort.Chan[str] = gort.Chan(1)

        def reader() -> None:
            try:
                c.read(10)
            except net.ErrClosed as e:
                done.send(str(e))

        gort.go(reader)
        gort.sleep(0.02)
        gort.go(lambda: s.read(10))  # the peer reads, so close_notify goes out at once
        t0 = time.monotonic()
        c.close()
        msg = done.recv()
        assert msg is not None
        assert time.monotonic() - t0 < 2
        s.close()
        return msg

    assert gort.run(main) == "read pipe: io: read/write on closed pipe"


def test_after_close_write_the_peers_close_reads_as_eof(certs: Path) -> None:
    # issue 11 adversarial pass: over TCP, a read after our close_write raised
    # SSLZeroReturnError at the peer's close_notify (CPython returns b"" only while the
    # shutdown state is exactly "received"); over a pipe it was already b"".
    def main() -> list[bytes]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))

        def answer(c: net.Conn) -> None:
            req = b""
            while d := c.read(100):
                req += d
            c.write(b"resp:" + req)
            c.close()

        serve(ln, answer)
        c = tls.dial("tcp", str(ln.addr), client_ctx(certs))
        c.write(b"req")
        c.close_write()
        got = [c.read(100)]
        buf = bytearray(10)
        got.append(bytes(buf[:c.read_into(buf)]))
        got.append(c.read(100))
        c.close()
        ln.close()
        return got

    assert gort.run(main) == [b"resp:req", b"", b""]


def test_write_deadline_over_a_pipe_is_raised_to_a_writer_waiting_for_queue_room(
        certs: Path) -> None:
    # issue 11 adversarial pass: over net.pipe() the writer goroutine stopped on the
    # deadline with the 4-record queue full; a write waiting for room waited forever.
    def main() -> tuple[str, float]:
        p1, p2 = net.pipe()
        s = tls.server(p2, server_ctx(certs))
        c = tls.client(p1, client_ctx(certs), "localhost")
        gort.go(s.handshake)
        c.handshake()  # c never reads again
        s.set_write_deadline(time.monotonic() + 0.5)
        t0 = time.monotonic()
        try:
            for _ in range(64):
                s.write(b"z" * 100)
        except TimeoutError as e:
            return str(e), time.monotonic() - t0
        finally:
            c.close()
            s.close()
        return "no timeout", time.monotonic() - t0

    msg, took = gort.run(main)
    assert "i/o timeout" in msg, msg
    assert took < 5


def test_a_write_over_a_pipe_waits_for_the_peer_to_read(certs: Path) -> None:
    # Go's net.Pipe is synchronous and tls.Conn.Write over it returns once the peer has
    # read the records. The writer goroutine's 4-flush queue counted flushes, not bytes:
    # writes of any size to a peer that never read returned at once.
    def main() -> list[object]:
        p1, p2 = net.pipe()
        s = tls.server(p2, server_ctx(certs))
        c = tls.client(p1, client_ctx(certs), "localhost")
        gort.go(s.handshake)
        c.handshake()  # c reads nothing from here on, until told
        out: list[object] = []
        s.set_write_deadline(time.monotonic() + 0.3)
        t0 = time.monotonic()
        try:
            s.write(b"z" * 100)
            out.append("returned")
        except TimeoutError as e:
            out.append(str(e))
        out.append(time.monotonic() - t0 >= 0.25)
        # A new pair: the write returns once the peer's read took its records.
        p3, p4 = net.pipe()
        s2 = tls.server(p4, server_ctx(certs))
        c2 = tls.client(p3, client_ctx(certs), "localhost")
        gort.go(s2.handshake)
        c2.handshake()
        order: gort.Chan[str] = gort.Chan(4)

        def writer() -> None:
            s2.write(b"y" * 50_000)
            order.send("written")

        gort.go(writer)
        gort.sleep(0.05)
        order.send("reading")
        got = b""
        while len(got) < 50_000:
            got += c2.read(100_000)
        out += [order.recv(), order.recv(), got == b"y" * 50_000]
        for x in (c, s, c2, s2):
            x.close()
        return out

    out = gort.run(main)
    assert out[0] == "write pipe: i/o timeout", out
    assert out[1:] == [True, "reading", "written", True]


def test_a_failed_write_fails_every_later_write_with_the_same_error(certs: Path) -> None:
    # Go: a tls.Conn whose write failed (a write timeout) returns that error forever.
    # Over TCP OpenSSL said "bad length" for the next write with other data (its retry
    # must pass the same buffer), an OpenSSL internal, not the cause.
    def main() -> list[str]:
        ln = tls.listen("tcp", "127.0.0.1:0", server_ctx(certs))
        hold: gort.Chan[net.Conn] = gort.Chan(1)

        def never_reads(c: net.Conn) -> None:
            c.read(1)  # the handshake, then nothing
            hold.send(c)

        serve(ln, never_reads)
        c = tls.dial("tcp", str(ln.addr), client_ctx(certs))
        c.write(b"x")
        peer = hold.recv()
        c.set_write_deadline(time.monotonic() + 0.2)
        msgs = []
        try:
            while True:
                c.write(b"w" * 65536)
        except TimeoutError as e:
            msgs.append(str(e))
        c.set_write_deadline(None)
        for data in (b"other", b"w" * 65536):
            try:
                c.write(data)
                msgs.append("wrote")
            except OSError as e:
                msgs.append(f"{type(e).__name__}: {e}")
        try:
            c.close_write()
        except OSError as e:
            msgs.append(f"{type(e).__name__}: {e}")
        c.close()
        assert peer is not None
        peer.close()
        ln.close()
        return msgs

    msgs = gort.run(main)
    assert msgs[0].startswith("write tcp 127.0.0.1:") and msgs[0].endswith("i/o timeout"), msgs
    assert msgs[1:] == ["TimeoutError: " + msgs[0]] * 3, msgs


def test_a_tls_pipe_of_an_ended_run_raises_err_closed(certs: Path) -> None:
    # A goroutine abandoned inside a write held the TLS Conn's write mutex: the next
    # run's write waited for it forever (a deadlock report).
    held: list[tls.Conn] = []

    def first() -> None:
        p1, p2 = net.pipe()
        s = tls.server(p2, server_ctx(certs))
        c = tls.client(p1, client_ctx(certs), "localhost")
        gort.go(s.handshake)
        c.handshake()
        gort.go(s.write, b"q" * 100)  # parked: c never reads
        gort.go(c.write, b"r" * 100)  # parked: s never reads
        gort.sleep(0.02)
        held.extend((c, s))

    def second() -> list[str]:
        out = []
        for conn, op in ((held[0], "write"), (held[1], "write"), (held[0], "read")):
            try:
                conn.write(b"again") if op == "write" else conn.read(10)
                out.append("no error")
            except net.ErrClosed as e:
                out.append(str(e))
        held[0].close()
        held[1].close()
        return out

    gort.run(first)
    assert gort.run(second) == ["use of closed network connection (a net.pipe() of a "
                                "gort.run that has ended; make a new one in this run)"] * 3
