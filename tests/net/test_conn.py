"""gort.net connections: the logic of Go's net tests (timeout_test.go, net_test.go,
conn_test.go, dial_test.go), ported; loopback only, bounded in time."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import socket
import time
from typing import Any

import pytest

import gort
import gort.net as net
from gort.internal import hosts

from ..conftest import run_testprog
from .helpers import conn_pair, echo_server, free_port, serve, write_until_error

pytestmark = pytest.mark.timeout(60)


def test_echo_round_trips_and_addresses() -> None:
    def main() -> list[Any]:
        ln = echo_server()
        with net.dial("tcp", str(ln.addr)) as c:
            out = []
            for i in range(5):
                msg = b"hello %d" % i
                assert c.write(msg) == len(msg)
                out.append(c.read(100))
            assert c.remote_addr == ln.addr
            assert c.local_addr.host == "127.0.0.1" and c.local_addr.port > 0
            assert str(c.remote_addr) == f"127.0.0.1:{ln.addr.port}"
            assert repr(c).startswith("<gort.net.Conn tcp 127.0.0.1:")
            assert c.fileno() >= 0
        assert c.fileno() == -1
        ln.close()
        return out

    assert gort.run(main) == [b"hello %d" % i for i in range(5)]


def test_tcp_nodelay_is_on_both_sides() -> None:
    def main() -> tuple[int, int]:
        c, s = conn_pair()
        with c, s:
            return (c._fd.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
                    s._fd.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    assert gort.run(main) == (1, 1)


def test_read_timeout_fires_and_stays_expired() -> None:
    """Go: TestReadTimeout: a deadline expires blocked and later reads, until it is moved."""

    def main() -> None:
        c, s = conn_pair()
        c.set_read_deadline(time.monotonic() + 0.05)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            c.read(10)
        took = time.monotonic() - t0
        assert 0.045 <= took < 2.0, took
        assert str(ei.value) == f"read tcp {c.local_addr}->{c.remote_addr}: i/o timeout"
        assert ei.value.errno is None
        s.write(b"x")
        with pytest.raises(TimeoutError):  # still expired: data or not
            c.read(10)
        c.set_read_deadline(None)
        assert c.read(10) == b"x"
        c.close()
        s.close()

    gort.run(main)


def test_deadline_in_the_past_fails_at_once_without_parking() -> None:
    def main() -> None:
        c, s = conn_pair()
        c.set_deadline(time.monotonic() - 1)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            c.read(1)
        with pytest.raises(TimeoutError):
            c.write(b"x")
        assert time.monotonic() - t0 < 0.5
        c.set_deadline(None)
        c.write(b"y")
        assert s.read(1) == b"y"
        c.close()
        s.close()

    gort.run(main)


def test_deadline_moved_earlier_while_blocked_wakes_the_reader() -> None:
    """Go: TestReadTimeoutFluctuation / deadline changes while a read waits."""

    def main() -> float:
        c, s = conn_pair()
        c.set_read_deadline(time.monotonic() + 3600)
        out: gort.Chan[float] = gort.Chan(1)

        def reader() -> None:
            t0 = time.monotonic()
            try:
                c.read(1)
            except TimeoutError:
                out.send(time.monotonic() - t0)

        gort.go(reader)
        gort.sleep(0.02)
        c.set_read_deadline(time.monotonic() + 0.05)
        took = out.recv()
        assert took is not None
        c.close()
        s.close()
        return took

    took = gort.run(main)
    assert 0.06 <= took < 2.0, took


def test_deadline_moved_later_while_blocked_keeps_the_reader_waiting() -> None:
    def main() -> tuple[float, bytes]:
        c, s = conn_pair()
        c.set_read_deadline(time.monotonic() + 0.05)
        out: gort.Chan[tuple[float, bytes]] = gort.Chan(1)

        def reader() -> None:
            t0 = time.monotonic()
            d = c.read(1)
            out.send((time.monotonic() - t0, d))

        gort.go(reader)
        gort.sleep(0.01)
        c.set_read_deadline(time.monotonic() + 10)  # the first deadline must not fire
        gort.sleep(0.15)
        s.write(b"z")
        v = out.recv()
        assert v is not None
        c.close()
        s.close()
        return v

    took, d = gort.run(main)
    assert d == b"z"
    assert took >= 0.15, took


def test_deadline_cleared_while_blocked() -> None:
    def main() -> bytes:
        c, s = conn_pair()
        c.set_read_deadline(time.monotonic() + 0.05)
        out: gort.Chan[bytes] = gort.Chan(1)
        gort.go(lambda: out.send(c.read(1)))
        gort.sleep(0.01)
        c.set_read_deadline(None)
        gort.sleep(0.1)
        s.write(b"q")
        v = out.recv()
        assert v is not None
        c.close()
        s.close()
        return v

    assert gort.run(main) == b"q"


def test_various_deadlines_in_order() -> None:
    """Go: TestVariousDeadlines: each of many short deadlines fires, none early."""

    def main() -> None:
        c, s = conn_pair()
        for d in (0.001, 0.005, 0.01, 0.02, 0.05):
            c.set_read_deadline(time.monotonic() + d)
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                c.read(1)
            took = time.monotonic() - t0
            assert d * 0.9 <= took < d + 2.0, (d, took)
        c.close()
        s.close()

    gort.run(main)


def test_write_timeout_against_a_peer_that_never_reads() -> None:
    """Go: TestWriteTimeout. The writer blocks, its deadline fires, the others run on."""

    def main() -> tuple[int, int]:
        c, s = conn_pair()
        ticks = [0]

        def ticker() -> None:
            while ticks[0] >= 0:
                gort.sleep(0.005)
                ticks[0] += 1

        gort.go(ticker)
        c.set_write_deadline(time.monotonic() + 0.3)
        sent = [0]
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            write_until_error(c, sent)
        took = time.monotonic() - t0
        assert 0.29 <= took < 3.0, took
        assert str(ei.value).startswith("write tcp ") and str(ei.value).endswith("i/o timeout")
        n = ticks[0]
        ticks[0] = -10
        c.close()
        s.close()
        return sent[0], n

    sent, ticks = gort.run(main)
    assert sent > 0  # the kernel buffers took some before the writer blocked
    assert ticks >= 20, ticks  # a 5 ms ticker kept running while the writer waited


def test_accept_timeout() -> None:
    """Go: TestAcceptTimeout."""

    def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        ln.set_deadline(time.monotonic() + 0.05)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            ln.accept()
        assert time.monotonic() - t0 >= 0.045
        assert str(ei.value) == f"accept tcp {ln.addr}: i/o timeout"
        ln.set_deadline(None)
        got: gort.Chan[net.Conn] = gort.Chan(1)
        gort.go(lambda: got.send(ln.accept()))
        c = net.dial("tcp", str(ln.addr))
        s = got.recv()
        assert s is not None and s.remote_addr == c.local_addr
        c.close()
        s.close()
        ln.close()

    gort.run(main)


def test_close_unblocks_a_blocked_read_with_err_closed() -> None:
    """Go: TestCloseUnblocksRead."""

    def main() -> str:
        c, s = conn_pair()
        out: gort.Chan[BaseException] = gort.Chan(1)

        def reader() -> None:
            try:
                c.read(1)
            except BaseException as e:
                out.send(e)

        gort.go(reader)
        gort.sleep(0.01)
        assert "[IO wait]" in gort.stack()
        c.close()
        e = out.recv()
        assert isinstance(e, net.ErrClosed) and isinstance(e, OSError)
        with pytest.raises(net.ErrClosed):
            c.write(b"x")
        with pytest.raises(net.ErrClosed):
            c.set_deadline(None)
        c.close()  # twice: a no-op
        assert s.read(1) == b""  # the peer sees EOF
        s.close()
        return str(e)

    msg = gort.run(main)
    assert msg.startswith("read tcp 127.0.0.1:")
    assert msg.endswith(": use of closed network connection")


def test_close_unblocks_a_blocked_write() -> None:
    def main() -> type[BaseException]:
        c, s = conn_pair()
        out: gort.Chan[type[BaseException]] = gort.Chan(1)

        def writer() -> None:
            try:
                write_until_error(c)
            except BaseException as e:
                out.send(type(e))

        gort.go(writer)
        gort.sleep(0.05)
        c.close()
        t = out.recv()
        assert t is not None
        s.close()
        return t

    assert gort.run(main) is net.ErrClosed


def test_listener_close_unblocks_accept_and_refuses_later_dials() -> None:
    """Go: TestCloseUnblocksAccept / listener close."""

    def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        addr = str(ln.addr)
        out: gort.Chan[BaseException] = gort.Chan(1)

        def acceptor() -> None:
            try:
                ln.accept()
            except BaseException as e:
                out.send(e)

        gort.go(acceptor)
        gort.sleep(0.01)
        ln.close()
        e = out.recv()
        assert isinstance(e, net.ErrClosed)
        assert str(e) == f"accept tcp {addr}: use of closed network connection"
        ln.close()
        with pytest.raises(net.ErrClosed):
            ln.accept()
        with pytest.raises(ConnectionRefusedError):
            net.dial("tcp", addr)

    gort.run(main)


def test_close_write_half_closes() -> None:
    """Go: TestCloseWrite: the peer reads EOF and can still answer."""

    def main() -> tuple[bytes, bytes, bytes]:
        c, s = conn_pair()
        c.write(b"request")
        c.close_write()
        got = b""
        while True:
            d = s.read(100)
            if not d:
                break
            got += d
        s.write(b"response")
        s.close()
        resp = c.read(100)
        eof = c.read(100)
        with pytest.raises(BrokenPipeError):
            c.write(b"more")
        c.close()
        return got, resp, eof

    assert gort.run(main) == (b"request", b"response", b"")


def test_read_into_and_makefile_line_protocol() -> None:
    def main() -> list[str]:
        def handler(conn: net.Conn) -> None:
            with conn, conn.makefile("rwb") as f:
                for line in f:
                    f.write(line.upper())
                    f.flush()

        ln = net.listen("tcp", "127.0.0.1:0")
        serve(ln, handler)
        c = net.dial("tcp", str(ln.addr))
        f = c.makefile("rw", encoding="ascii", newline="\n")
        out = []
        for word in ("alpha", "beta", "gamma"):
            f.write(word + "\n")
            f.flush()
            out.append(f.readline())
        buf = bytearray(8)
        c.write(b"zz\n")
        n = c.read_into(buf)
        assert bytes(buf[:n]) == b"ZZ\n"
        f.close()
        c.close()
        ln.close()
        with pytest.raises(ValueError, match="invalid makefile mode"):
            c.makefile("x")
        return out

    assert gort.run(main) == ["ALPHA\n", "BETA\n", "GAMMA\n"]


def test_dial_refused_message_is_gos() -> None:
    port = free_port()

    def main() -> None:
        with pytest.raises(ConnectionRefusedError) as ei:
            net.dial("tcp", f"127.0.0.1:{port}")
        assert str(ei.value) == \
            f"[Errno {errno.ECONNREFUSED}] dial tcp 127.0.0.1:{port}: connect: connection refused"
        assert ei.value.errno == errno.ECONNREFUSED
        assert ei.value.strerror == f"dial tcp 127.0.0.1:{port}: connect: connection refused"

    gort.run(main)


def test_dial_timeout_when_the_backlog_is_full() -> None:
    """Go: TestDialTimeout. A listener that never accepts, its queue full: SYNs are dropped."""
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(0)
    port = raw.getsockname()[1]
    fill = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fill.append(f)

    def main() -> float:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            net.dial("tcp", f"127.0.0.1:{port}", timeout=0.2)
        assert str(ei.value) == f"dial tcp 127.0.0.1:{port}: i/o timeout"
        return time.monotonic() - t0

    try:
        took = gort.run(main)
    finally:
        for f in fill:
            f.close()
        raw.close()
    assert 0.19 <= took < 3.0, took


def test_dialer_deadline_and_local_addr() -> None:
    def main() -> None:
        ln = echo_server()
        port = free_port()
        d = net.Dialer(deadline=time.monotonic() + 5, local_addr=f"127.0.0.1:{port}")
        with d.dial("tcp", str(ln.addr)) as c:
            assert c.local_addr == net.Addr("tcp", "127.0.0.1", port)
            c.write(b"ok")
            assert c.read(2) == b"ok"
        with pytest.raises(TimeoutError):
            net.Dialer(deadline=time.monotonic() - 1).dial("tcp", str(ln.addr))
        ln.close()

    gort.run(main)


def test_bad_input_errors() -> None:
    def main() -> None:
        with pytest.raises(ValueError, match="unknown network 'tpc'"):
            net.dial("tpc", "127.0.0.1:80")
        with pytest.raises(ValueError, match="missing port in address"):
            net.dial("tcp", "127.0.0.1")
        with pytest.raises(ValueError, match="too many colons"):
            net.listen("tcp", "::1:80")
        with pytest.raises(ValueError, match="unknown network 'unix'"):
            net.listen_packet("unix", "/tmp/x")
        port = free_port()
        ln0 = net.listen("tcp", f"127.0.0.1:{port}")
        taken = net.Dialer(local_addr=f"127.0.0.1:{port}")  # the listener has the port
        with pytest.raises(OSError, match="bind: address already in use") as ei3:
            taken.dial("tcp", str(ln0.addr))
        ln0.close()
        assert ei3.value.errno == errno.EADDRINUSE
        assert f"dial tcp 127.0.0.1:{port}: bind: address already in use" == \
            ei3.value.strerror
        with pytest.raises(TypeError, match="deadline"):
            net.Dialer(deadline="soon")  # type: ignore[arg-type]
        with pytest.raises(socket.gaierror) as ei:
            net.dial("tcp", "nosuch.invalid:80", timeout=20)
        assert str(ei.value).startswith("[Errno ")
        assert "dial tcp: lookup nosuch.invalid: " in str(ei.value)
        ln = net.listen("tcp", "127.0.0.1:0")
        with pytest.raises(OSError, match="address already in use") as ei2:
            net.listen("tcp", str(ln.addr))
        assert ei2.value.errno == errno.EADDRINUSE
        assert ei2.value.strerror == f"listen tcp {ln.addr}: bind: address already in use"
        ln.close()

    gort.run(main)


def test_split_and_join_host_port() -> None:
    assert net.split_host_port("127.0.0.1:80") == ("127.0.0.1", "80")
    assert net.split_host_port("[::1]:443") == ("::1", "443")
    assert net.split_host_port(":0") == ("", "0")
    assert net.join_host_port("::1", "80") == "[::1]:80"
    assert net.join_host_port("example.com", "80") == "example.com:80"
    assert net.split_host_port("[fe80::1%eth0]:0") == ("fe80::1%eth0", "0")
    for bad, why in (("x", "missing port"), ("[::1:80", "missing ']'"), ("a:b:c", "too many"),
                     ("[::1]", "missing port"), ("[::1]x:80", "after ']'"),
                     ("a]:80", "unexpected")):
        with pytest.raises(ValueError, match=why):
            net.split_host_port(bad)


def test_lookup_numeric_needs_no_thread_and_names_resolve_offloaded() -> None:
    # Numeric hosts and names the hosts file answers (localhost, where the file is
    # glibc's final answer) need no thread; other names go to an offload thread.
    from_file = hosts.lookup("localhost", socket.AF_UNSPEC) is not None

    def main() -> tuple[list[str], bool, list[str], bool, bool]:
        s = gort.runtime.current_sched()
        num = net.lookup_host("127.0.0.1")
        ln = echo_server()
        c = net.dial("tcp", f"127.0.0.1:{ln.addr.port}")
        c.close()
        no_thread = s.offloader is None
        names = net.lookup_host("localhost")
        ips = net.lookup_ip("localhost")
        assert all(str(ip) in names for ip in ips)
        c = net.dial("tcp", f"localhost:{ln.addr.port}", timeout=10)
        c.close()
        ln.close()
        local_no_thread = s.offloader is None
        with pytest.raises(socket.gaierror, match=r"lookup no-such-name\.invalid"):
            net.lookup_host("no-such-name.invalid")
        return num, no_thread, names, local_no_thread, s.offloader is not None

    num, no_thread, names, local_no_thread, used = gort.run(main)
    assert num == ["127.0.0.1"]
    assert no_thread
    assert "127.0.0.1" in names
    assert local_no_thread == from_file
    assert used


def test_tcp6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    def main() -> tuple[str, bytes]:
        ln = echo_server("tcp6", "[::1]:0")
        with net.dial("tcp6", str(ln.addr)) as c:
            c.write(b"six")
            d = c.read(3)
        ln.close()
        return str(ln.addr), d

    addr, d = gort.run(main)
    assert addr.startswith("[::1]:")
    assert d == b"six"


def test_listen_on_all_addresses_is_dual_stack() -> None:
    def main() -> bytes:
        ln = echo_server("tcp", ":0")
        with net.dial("tcp4", f"127.0.0.1:{ln.addr.port}") as c:
            c.write(b"4")
            d = c.read(1)
        ln.close()
        return d

    assert gort.run(main) == b"4"


def test_unix_stream_and_socket_file_removed(tmp_path: Any) -> None:
    path = str(tmp_path / "s.sock")

    def main() -> tuple[bytes, str]:
        ln = echo_server("unix", path)
        assert os.path.exists(path)
        with net.dial("unix", path) as c:
            c.write(b"unix")
            d = c.read(4)
            addr = str(c.remote_addr)
        ln.close()
        return d, addr

    d, addr = gort.run(main)
    assert (d, addr) == (b"unix", path)
    assert not os.path.exists(path)


def test_udp_packet_conn_and_dialed_udp() -> None:
    def main() -> None:
        pc = net.listen_packet("udp", "127.0.0.1:0")

        def server() -> None:
            while True:
                try:
                    data, addr = pc.read_from(2048)
                except net.ErrClosed:
                    return
                pc.write_to(data[::-1], addr)

        gort.go(server)
        c = net.dial("udp", str(pc.local_addr))
        for msg in (b"abc", b"hello", b"x" * 1000):
            c.write(msg)
            assert c.read(2048) == msg[::-1]
        pc2 = net.listen_packet("udp4", "127.0.0.1:0")
        pc2.write_to(b"ping", pc.local_addr)
        data, frm = pc2.read_from(100)
        assert (data, frm) == (b"gnip", pc.local_addr)
        pc2.set_read_deadline(time.monotonic() + 0.02)
        with pytest.raises(TimeoutError):
            pc2.read_from(100)
        pc2.close()
        c.close()
        pc.close()

    gort.run(main)


def test_conn_outlives_its_run_as_closed() -> None:
    def main() -> tuple[net.Conn, net.Conn]:
        return conn_pair()

    c, s = gort.run(main)

    def again() -> None:
        with pytest.raises(net.ErrClosed):
            c.read(1)
        c.close()
        s.close()

    gort.run(again)
    assert c.fileno() == -1


def test_pipe_is_synchronous_with_deadlines_and_close() -> None:
    """Go: net.Pipe and its conformance tests (nettest), the parts that apply."""

    def main() -> None:
        a, b = net.pipe()
        log: list[str] = []

        def writer() -> None:
            a.write(b"hello world")
            log.append("write returned")

        gort.go(writer)
        gort.sleep(0.01)
        assert log == []  # nobody read yet: the write waits
        assert b.read(5) == b"hello"
        assert log == []
        assert b.read(100) == b" world"
        gort.sleep(0)
        assert log == ["write returned"]
        b.set_read_deadline(time.monotonic() + 0.02)
        with pytest.raises(TimeoutError):
            b.read(1)
        b.set_read_deadline(None)
        a.set_write_deadline(time.monotonic() + 0.02)
        with pytest.raises(TimeoutError):
            a.write(b"x")
        a.set_write_deadline(None)
        buf = bytearray(3)
        gort.go(a.write, b"abc")
        assert b.read_into(buf) == 3 and buf == b"abc"
        a.close()
        assert b.read(1) == b""
        with pytest.raises(net.ErrClosed):
            b.write(b"x")
        with pytest.raises(net.ErrClosed):
            a.read(1)
        b.close()

    gort.run(main)


def test_errors_are_python_exceptions() -> None:
    assert issubclass(net.ErrClosed, OSError)
    assert net.ErrClosed.__module__ == "gort.net"


def test_a_drained_stream_still_sees_every_later_arrival_eof_and_close_read() -> None:
    """After a short read the next read parks at once (no EAGAIN try); nothing is missed."""

    def main() -> list[bytes]:
        c, s = conn_pair()
        out = []
        s.write(b"abc")
        out.append(c.read(100))  # short: the socket was emptied
        gort.go(s.write, b"later")
        out.append(c.read(100))  # parks, then the edge of "later" wakes it
        buf = bytearray(100)
        gort.go(s.write, b"into")
        out.append(bytes(buf[:c.read_into(buf)]))
        c.close_read()
        c.set_read_deadline(time.monotonic() + 5)
        t0 = time.monotonic()
        out.append(c.read(100))  # shut down: EOF at once, not at the deadline
        assert time.monotonic() - t0 < 1
        s.close()
        c.close()
        return out

    assert gort.run(main) == [b"abc", b"later", b"into", b""]


@pytest.mark.parametrize("mode", ["rb", "r", "wb"])
def test_makefile_refuses_to_go_on_after_a_deadline_fired(mode: str) -> None:
    # Once read: the buffered b"ab" was dropped and the next readline returned b"c\n";
    # written: the next flush sent 9048 bytes a second time. Now: an error, never that.
    def main() -> str:
        c, s = conn_pair()
        f = c.makefile(mode)
        if "r" in mode:
            s.write(b"ab")
            c.set_read_deadline(time.monotonic() + 0.05)
            with pytest.raises(TimeoutError):
                f.readline()
            c.set_read_deadline(None)
            s.write(b"c\n")
            with pytest.raises(OSError, match="after a deadline fired") as ei:
                f.readline()
        else:
            c.set_write_deadline(time.monotonic() + 0.2)

            def fill() -> None:
                for _ in range(100_000):
                    f.write(b"x" * 1000)  # the peer never reads

            with pytest.raises(TimeoutError):
                fill()
            c.set_write_deadline(None)
            with pytest.raises(OSError, match="after a deadline fired") as ei:
                f.flush()
        with pytest.raises(OSError, match="after a deadline fired") if "w" in mode \
                else contextlib.nullcontext():
            f.close()  # a writer's close flushes, and refuses too; the file is closed
        assert f.closed
        c.close()
        s.close()
        return str(ei.value)

    assert "makefile()" in gort.run(main)


def test_a_pipe_abandoned_mid_operation_is_closed_in_later_runs() -> None:
    # Goroutines abandoned in a pipe's read and write kept their places in its channels
    # and its write mutex: the next run's read of it deadlocked ("all goroutines are
    # asleep"), and a write handed its data to a goroutine that never runs again.
    ends: list[net.Conn] = []

    def first() -> None:
        a, b = net.pipe()
        gort.go(a.read, 10)  # parked: b never writes
        gort.go(a.write, b"x" * 5)  # parked: b never reads
        gort.go(a.write, b"y" * 5)  # parked on the write mutex
        gort.sleep(0.02)
        ends.extend((a, b))

    def second() -> list[str]:
        a, b = ends
        out = []
        for op in (lambda: b.read(10), lambda: a.write(b"z"), lambda: b.write(b"z"),
                   lambda: a.set_deadline(None)):
            try:
                op()
                out.append("no error")
            except net.ErrClosed as e:
                out.append(str(e))
        a.close()  # a no-op, as for any closed Conn
        c, d = net.pipe()  # a new pipe works
        gort.go(c.write, b"fresh")
        out.append(d.read(10).decode())
        return out

    gort.run(first)
    hint = ": io: read/write on closed pipe (the pipe belonged to a gort.run that has ended; " \
           "make a new one in this run)"
    assert gort.run(second) == [f"read pipe{hint}", f"write pipe{hint}", f"write pipe{hint}",
                                f"set pipe{hint}", "fresh"]


def test_a_pipe_made_outside_a_run_belongs_to_the_first_run_using_it() -> None:
    a, b = net.pipe()

    def main() -> bytes:
        gort.go(a.write, b"hi")
        return b.read(10)

    assert gort.run(main) == b"hi"
    with pytest.raises(net.ErrClosed, match="has ended"):
        gort.run(lambda: b.read(1))


def test_sockets_of_abandoned_goroutines_are_closed_when_the_run_ends() -> None:
    # A goroutine abandoned in accept or read inside a try/with block was kept for the
    # life of the process (abandon.py), and it held its socket open: one descriptor more
    # per run for good. gort.net's sockets are the run's: closed when it ends (and such
    # goroutines are now released too: none kept).
    r = run_testprog("net_abandon_fds.py", module=False, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "kept 0", r.stdout  # parked inside try and with: released
    fds = lines[1].split()
    assert fds[0] == "fds" and fds[1] == fds[2] == fds[3], r.stdout
    assert lines[2:4] == ["fileno -1 -1", "peer reads b''"], r.stdout
    assert lines[4].startswith("old conn: read tcp 127.0.0.1:"), r.stdout
    assert lines[4].endswith(": use of closed network connection"), r.stdout


def test_deadline_extremes_and_a_wall_clock_value() -> None:
    # -inf overflowed (a bare OverflowError); time.time() + 5 silently meant 54 years.
    def main() -> list[str]:
        c, s = conn_pair()
        out = []
        for t in (-math.inf, -1e300, math.inf, 1e300, time.time() + 5):
            try:
                c.set_read_deadline(t)
                c.read(1) if t < 0 else None
                out.append("set")
            except TimeoutError:
                out.append("TimeoutError")
            except ValueError as e:
                out.append("ValueError: " + str(e).split(": ", 1)[1].split(";")[0])
        c.close()
        s.close()
        return out

    got = gort.run(main)
    assert got[:4] == ["TimeoutError", "TimeoutError", "set", "set"], got
    assert got[4].startswith("ValueError: the deadline ") and \
        got[4].endswith(" looks like a time.time() value"), got


def test_unix_listener_file_goes_at_run_end_and_stays_for_a_forked_childs_close(
        tmp_path: Any) -> None:
    path = str(tmp_path / "ln.sock")

    kept: list[Any] = []

    def left_open() -> None:
        kept.append(net.listen("unix", path))  # never closed: the run's end closes it

    for _ in range(2):  # the second run listens on the same path again
        gort.run(left_open)
        assert not os.path.exists(path)

    def prefork() -> str:
        ln = net.listen("unix", path)
        pid = os.fork()
        if pid == 0:
            ln.close()  # the child stops serving: the parent's file stays
            os._exit(0)
        _, status = gort.offload(os.waitpid, pid, 0)
        assert status == 0
        c = net.dial("unix", path, timeout=10)
        got = ln.accept()
        c.write(b"hi")
        data = got.read(2)
        for x in (c, got, ln):
            x.close()
        return data.decode() + (" gone" if not os.path.exists(path) else " left")

    assert gort.run(prefork) == "hi gone"


@pytest.mark.parametrize("mode", ["wb", "rwb", "w"])
def test_makefile_shared_by_goroutines_takes_turns(mode: str) -> None:
    # The C BufferedWriter keeps its thread-owned lock while the raw write parks: a
    # second goroutine got "reentrant call inside <_io.BufferedWriter>" and half the
    # bytes were lost (two threads wait for each other instead). Chunks stay whole.
    chunk, n = 64 * 1024, 120

    def main() -> tuple[list[str], int, set[bytes]]:
        ln = net.listen("tcp", "127.0.0.1:0")
        got: list[bytes] = []
        errs: list[str] = []

        def reader() -> None:
            c = ln.accept()
            while (b := c.read(65536)):
                got.append(b)
                gort.sleep(0.001)  # slow: the writers fill the socket and park
            c.close()

        rd = gort.sync.WaitGroup()
        rd.go(reader)
        conn = net.dial("tcp", str(ln.addr))
        f = conn.makefile(mode)

        def writer(ch: str) -> None:
            try:
                for _ in range(n):
                    f.write(ch * chunk if "b" not in mode else ch.encode() * chunk)
                f.flush()
            except Exception as e:
                errs.append(repr(e)[:120])

        wg = gort.sync.WaitGroup()
        wg.go(writer, "a")
        wg.go(writer, "b")
        wg.wait()
        f.close()
        conn.close()
        rd.wait()
        ln.close()
        data = b"".join(got)
        return errs, len(data), {data[i:i + chunk] for i in range(0, len(data), chunk)}

    errs, total, pieces = gort.run(main)
    assert (errs, total) == ([], 2 * n * chunk)
    assert pieces == {b"a" * chunk, b"b" * chunk}  # each write whole, none interleaved


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_a_scoped_ipv6_address_keeps_its_zone_in_messages() -> None:
    def main() -> str:
        try:
            net.dial("tcp", "[fe80::1%lo]:9", timeout=10).close()
        except OSError as e:
            return str(e)
        return "connected"

    got = gort.run(main)
    assert "dial tcp [fe80::1%lo]:9: " in got, got
