"""gort.net's API corners: bad sizes and buffers, unixgram, dialing dual-stack names
(Go's happy eyeballs). Loopback only, bounded in time."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import gort
import gort.net as net

from .helpers import conn_pair, echo_server, free_port, serve

pytestmark = pytest.mark.timeout(60)


def _drained(c: net.Conn, s: net.Conn) -> None:
    """Leave c drained: its last read returned less than it asked for."""
    s.write(b"abc")
    assert c.read(100) == b"abc"


@pytest.mark.parametrize("drained", [False, True])
def test_bad_read_sizes_name_the_operation_and_addresses(drained: bool) -> None:
    def main() -> None:
        c, s = conn_pair()
        if drained:
            _drained(c, s)
        where = f"read tcp {c.local_addr}->{c.remote_addr}: "
        c.set_read_deadline(time.monotonic() + 10)  # a bad call must not wait for data
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="negative size") as ei:
            c.read(-1)
        assert str(ei.value) == (where + "negative size -1: read(n) needs n >= 0 "
                                 "(there is no read-all: read until b'' at EOF)")
        with pytest.raises(TypeError) as et:
            c.read(1.5)  # type: ignore[arg-type]
        assert str(et.value) == where + "size must be an int, not float"
        with pytest.raises(TypeError) as et:
            c.read(None)  # type: ignore[arg-type]
        assert str(et.value) == where + "size must be an int, not NoneType"
        with pytest.raises(OverflowError) as eo:
            c.read(1 << 80)
        assert str(eo.value) == where + f"size {1 << 80} is too large"
        assert c.read(0) == b""  # at once, not EOF: the connection is still good
        with pytest.raises(TypeError) as eb:
            c.read_into(b"read-only")
        assert str(eb.value) == where + "read_into needs a writable buffer; bytes is read-only"
        with pytest.raises(TypeError) as eb:
            c.read_into([0, 0])
        assert str(eb.value) == (where + "read_into needs a writable bytes-like object "
                                 "(bytearray, memoryview), not list")
        assert c.read_into(bytearray()) == 0
        with pytest.raises(TypeError) as ew:
            c.write("text")
        assert str(ew.value) == (f"write tcp {c.local_addr}->{c.remote_addr}: data must be a "
                                 "bytes-like object, not str (encode it first)")
        assert time.monotonic() - t0 < 5
        s.write(b"still fine")  # none of that broke the connection
        assert c.read(100) == b"still fine"
        c.close()
        s.close()

    gort.run(main)


def test_bad_sizes_on_pipes_and_packet_conns() -> None:
    def main() -> None:
        a, b = net.pipe()
        with pytest.raises(ValueError, match=r"^read pipe: negative size -2: "):
            a.read(-2)
        with pytest.raises(TypeError, match=r"^read pipe: read_into needs a writable buffer"):
            a.read_into(b"x")
        with pytest.raises(TypeError, match=r"^write pipe: data must be a bytes-like object"):
            a.write("x")
        a.close()
        b.close()
        pc = net.listen_packet("udp", "127.0.0.1:0")
        with pytest.raises(ValueError, match=rf"^read udp {pc.local_addr}: negative size -1"):
            pc.read_from(-1)
        pc.close()

    gort.run(main)


def test_tls_conn_bad_sizes_fail_before_the_handshake() -> None:
    import ssl

    import gort.tls as tls

    def main() -> None:
        c, s = conn_pair()
        t = tls.client(c, ssl.create_default_context(), "localhost")
        where = f"read tcp {c.local_addr}->{c.remote_addr}: "
        with pytest.raises(ValueError, match="negative size") as ei:
            t.read(-1)
        assert str(ei.value).startswith(where + "negative size -1")
        with pytest.raises(TypeError) as et:
            t.read_into(b"ro")
        assert str(et.value) == where + "read_into needs a writable buffer; bytes is read-only"
        with pytest.raises(TypeError, match="data must be a bytes-like object, not str"):
            t.write("x")
        assert t.read(0) == b""  # no handshake was tried: the peer never answered one
        t.close()
        s.close()

    gort.run(main)


def test_unixgram_listen_packet_dial_read_from_write_to(tmp_path: Path) -> None:
    srv_path = str(tmp_path / "srv.sock")
    cli_path = str(tmp_path / "cli.sock")

    def main() -> list[object]:
        pc = net.listen_packet("unixgram", srv_path)
        got: list[object] = [pc.local_addr]

        def server() -> None:
            while True:
                try:
                    data, addr = pc.read_from(2048)
                except net.ErrClosed:
                    return
                got.append((data, addr))
                if addr.host:
                    pc.write_to(data.upper(), addr)

        gort.go(server)
        # a bound client: its datagrams can be answered
        c = net.Dialer(local_addr=cli_path).dial("unixgram", srv_path)
        assert (c.local_addr, c.remote_addr) == (net.Addr("unixgram", cli_path, 0),
                                                 net.Addr("unixgram", srv_path, 0))
        c.write(b"hello")
        assert c.read(100) == b"HELLO"
        # an unbound one: its sender address is empty and cannot be answered
        anon = net.dial("unixgram", srv_path)
        assert anon.local_addr == net.Addr("unixgram", "", 0)
        anon.write(b"anon")
        c.write(b"sync")  # the server handles datagrams in order: anon's is in got
        assert c.read(100) == b"SYNC"
        with pytest.raises(ValueError, match="a unix address is a socket path") as ev:
            pc.write_to(b"x", net.Addr("unixgram", "", 0))
        assert str(ev.value) == (f"write unixgram {srv_path}->: a unix address is "
                                 "a socket path, got ''")
        # a PacketConn answers a path given as a string too
        pc2 = net.listen_packet("unixgram", "@gort-test-" + str(os.getpid()))
        pc2.write_to(b"ping", srv_path)
        assert pc2.read_from(100) == (b"PING", pc.local_addr)
        with pytest.raises(ValueError, match="unknown network 'unixgram'"):
            net.listen("unixgram", str(tmp_path / "x.sock"))
        pc2.set_read_deadline(time.monotonic() + 0.02)
        with pytest.raises(TimeoutError, match=r"^read unixgram @gort-test-\d+: i/o timeout$"):
            pc2.read_from(100)
        for x in (c, anon, pc2, pc):
            x.close()
        with pytest.raises(ConnectionRefusedError) as er:  # the file stays, nobody reads
            net.dial("unixgram", srv_path)
        assert er.value.strerror == f"dial unixgram {srv_path}: connect: connection refused"
        return got

    got = gort.run(main)
    assert got == [net.Addr("unixgram", srv_path, 0),
                   (b"hello", net.Addr("unixgram", cli_path, 0)),
                   (b"anon", net.Addr("unixgram", "", 0)),
                   (b"sync", net.Addr("unixgram", cli_path, 0)),
                   (b"ping", net.Addr("unixgram", "@gort-test-" + str(os.getpid()), 0))]
    assert os.path.exists(srv_path)  # as Go, the socket file stays after close


# -- dialing a dual-stack name (Go: dialParallel, TestDialParallel's cases) ----------

needs_ipv6 = pytest.mark.skipif(not net._ipv6_works(), reason="no IPv6 on this host")


def _fake_resolver(monkeypatch: pytest.MonkeyPatch, addrs: list[tuple[str, int]]) -> None:
    """'dual.test' resolves to addrs (in that order); nothing else does."""
    real = net._lookup

    def lookup(host: str, port: int, family: int, socktype: int) -> list[Any]:
        if host != "dual.test":
            return real(host, port, family, socktype)
        out = []
        for h, p in addrs:
            if ":" in h:
                out.append((socket.AF_INET6, socktype, 6, "", (h, p, 0, 0)))
            else:
                out.append((socket.AF_INET, socktype, 6, "", (h, p)))
        return out

    monkeypatch.setattr(net, "_lookup", lookup)


class _Hanging:
    """A listener that never accepts, its queue full: a connect to it hangs."""

    def __init__(self, family: int, host: str) -> None:
        self.raw = socket.socket(family)
        self.raw.bind((host, 0))
        self.raw.listen(0)
        self.port: int = self.raw.getsockname()[1]
        self.fill = []
        for _ in range(4):
            f = socket.socket(family)
            f.setblocking(False)
            f.connect_ex((host, self.port))
            self.fill.append(f)

    def close(self) -> None:
        for f in self.fill:
            f.close()
        self.raw.close()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@needs_ipv6
def test_dual_stack_primary_refused_falls_back_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def main() -> tuple[float, str]:
        ln = echo_server("tcp4", "127.0.0.1:0")
        _fake_resolver(monkeypatch, [("::1", free_port()), ("127.0.0.1", ln.addr.port)])
        t0 = time.monotonic()
        with net.Dialer(fallback_delay=5.0).dial("tcp", "dual.test:0") as c:
            took = time.monotonic() - t0
            c.write(b"v4")
            assert c.read(10) == b"v4"
            host = c.remote_addr.host
        ln.close()
        return took, host

    took, host = gort.run(main)
    assert host == "127.0.0.1"
    assert took < 2.5, took  # not the 5 s delay: the primaries' failure started the race


@needs_ipv6
def test_dual_stack_fallback_wins_after_the_delay_and_the_loser_is_closed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hang = _Hanging(socket.AF_INET6, "::1")

    def main() -> tuple[float, str, int]:
        ln = echo_server("tcp4", "127.0.0.1:0")
        _fake_resolver(monkeypatch, [("::1", hang.port), ("127.0.0.1", ln.addr.port)])
        before = _open_fds()
        t0 = time.monotonic()
        c = net.Dialer(fallback_delay=0.1).dial("tcp", "dual.test:0")
        took = time.monotonic() - t0
        c.write(b"won")
        assert c.read(10) == b"won"
        gort.sleep(0.05)  # the losing goroutine runs: its connect was woken, its socket closed
        leaked = _open_fds() - before  # the winner and its accepted end are open
        host = c.remote_addr.host
        c.close()
        ln.close()
        return took, host, leaked

    try:
        took, host, leaked = gort.run(main)
    finally:
        hang.close()
    assert host == "127.0.0.1"
    assert 0.09 <= took < 3.0, took
    assert leaked == 2


@needs_ipv6
def test_dual_stack_without_the_race_waits_for_the_primary(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hang = _Hanging(socket.AF_INET6, "::1")

    def main() -> str:
        ln = echo_server("tcp4", "127.0.0.1:0")
        _fake_resolver(monkeypatch, [("::1", hang.port), ("127.0.0.1", ln.addr.port)])
        with pytest.raises(TimeoutError) as ei:
            net.Dialer(timeout=0.2, fallback_delay=-1).dial("tcp", "dual.test:0")
        ln.close()
        return str(ei.value)

    try:
        msg = gort.run(main)
    finally:
        hang.close()
    assert msg == f"dial tcp [::1]:{hang.port}: i/o timeout"


@needs_ipv6
def test_dual_stack_both_fail_raises_the_primarys_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    p6, p4 = free_port(), free_port()

    def main() -> OSError:
        _fake_resolver(monkeypatch, [("::1", p6), ("127.0.0.1", p4)])
        with pytest.raises(ConnectionRefusedError) as ei:
            net.dial("tcp", "dual.test:0")
        return ei.value

    e = gort.run(main)
    assert e.strerror == f"dial tcp [::1]:{p6}: connect: connection refused"


@needs_ipv6
def test_dual_stack_both_connect_one_wins_the_other_is_closed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def main() -> tuple[list[bytes], bytes]:
        ln6 = net.listen("tcp6", "[::1]:0")
        ln4 = net.listen("tcp4", "127.0.0.1:0")
        accepted: gort.Chan[bytes] = gort.Chan(4)

        def handle(c: net.Conn) -> None:
            with c:
                try:
                    d = c.read(10)  # the winner writes, the loser was closed: EOF
                except ConnectionResetError:
                    d = b""
                accepted.send(d)
                if d:
                    c.write(d)

        serve(ln6, handle)
        serve(ln4, handle)
        _fake_resolver(monkeypatch, [("::1", ln6.addr.port), ("127.0.0.1", ln4.addr.port)])
        c = net.Dialer(fallback_delay=0).dial("tcp", "dual.test:0")
        c.write(b"hi")
        echoed = c.read(10)
        seen = [accepted.recv()]
        gort.sleep(0.2)  # the loser, if it connected at all, closes its end
        while len(accepted):
            seen.append(accepted.recv())
        c.close()
        ln6.close()
        ln4.close()
        return sorted(seen), echoed

    seen, echoed = gort.run(main)
    assert echoed == b"hi"
    assert seen in ([b"hi"], [b"", b"hi"]), seen


def test_dialer_fallback_delay_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="fallback_delay is a number of seconds, got 'x'"):
        net.Dialer(fallback_delay="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fallback_delay is a number of seconds"):
        net.Dialer(fallback_delay=None)  # type: ignore[arg-type]
    assert net.Dialer().fallback_delay == net.DEFAULT_FALLBACK_DELAY_S == 0.3


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_dial_timeout_zero_or_less_fails_at_once_and_none_waits(timeout: float) -> None:
    """timeout <= 0 is a deadline already past (documented; Go's DialTimeout reads 0 as none)."""
    def main() -> list[str]:
        ln = echo_server()
        msgs = []
        t0 = time.monotonic()
        for addr in (str(ln.addr), f"localhost:{ln.addr.port}"):
            with pytest.raises(TimeoutError) as ei:
                net.dial("tcp", addr, timeout=timeout)
            msgs.append(str(ei.value))
        assert time.monotonic() - t0 < 2.0
        with net.dial("tcp", str(ln.addr), timeout=None) as c:
            c.write(b"ok")
            assert c.read(2) == b"ok"
        ln.close()
        return msgs

    port_msgs = gort.run(main)
    assert port_msgs[0].startswith("dial tcp 127.0.0.1:") and port_msgs[0].endswith(": i/o timeout")
    assert port_msgs[1] == "dial tcp: lookup localhost: i/o timeout"  # no time left to look up


@pytest.mark.parametrize("which", ["read", "accept", "write", "past"])
def test_deadline_set_from_a_plain_thread_wakes_the_idle_runtime(which: str) -> None:
    # issue 11 adversarial pass: set_*deadline from a thread changed the M's timers from
    # the wrong thread and never woke the poller: the parked goroutine hung forever.
    import threading

    def main() -> tuple[str, float]:
        ln = net.listen("tcp", "127.0.0.1:0")
        c = net.dial("tcp", str(ln.addr))
        s = ln.accept()
        delay = 0.05
        if which == "accept":
            op: Any = ln.accept
            target = ln.set_deadline
        elif which == "write":
            op, target = (lambda: [c.write(b"x" * 65536) for _ in range(10_000)]), \
                c.set_write_deadline
        else:
            op, target = (lambda: s.read(1)), s.set_read_deadline
        when = 0.0 if which == "past" else 0.2

        def later() -> None:
            time.sleep(delay)
            target(time.monotonic() + when - (1.0 if which == "past" else 0.0))

        threading.Thread(target=later).start()
        t = time.monotonic()
        try:
            op()
        except TimeoutError as e:
            return str(e), time.monotonic() - t
        finally:
            for x in (c, s, ln):
                x.close()
        return "no timeout", time.monotonic() - t

    msg, took = gort.run(main)
    assert msg.endswith("i/o timeout"), msg
    assert took < 5.0  # 0.05-0.25 s when idle; it used to hang


def test_bad_arguments_name_the_operation_network_and_addresses() -> None:
    # Go's errors carry "op network addr"; these said only what was wrong, or were
    # Python's own (a str deadline, a NUL in a host name, keep_alive="x").
    def main() -> list[str]:
        ln = net.listen("tcp", "127.0.0.1:0")
        c = net.dial("tcp", str(ln.addr))
        s = ln.accept()
        pc = net.listen_packet("udp", "127.0.0.1:0")
        p1, _p2 = net.pipe()
        out = []

        def err(f: Any) -> None:
            try:
                f()
                out.append("no error")
            except Exception as e:
                out.append(f"{type(e).__name__}: {e}")

        where = f"{c.local_addr}->{c.remote_addr}"
        err(lambda: c.set_deadline("soon"))
        err(lambda: c.set_write_deadline(float("nan")))
        err(lambda: p1.set_read_deadline(True))
        err(lambda: pc.set_deadline([1]))
        err(lambda: ln.set_deadline("soon"))
        err(lambda: pc.write_to(b"x", 5))
        err(lambda: net.listen("tcp", "x"))
        err(lambda: net.listen("tcp", 5))
        err(lambda: net.listen("unix", 5))
        err(lambda: net.listen("tcp", ":-1"))
        err(lambda: net.listen_packet("udp", "127.0.0.1:99999"))
        err(lambda: net.dial("tcp", "[::1"))
        err(lambda: net.dial("tcp", "a\0b:80"))
        err(lambda: net.dial("unix", ""))
        err(lambda: net.Dialer(keep_alive="x"))  # type: ignore[arg-type]
        err(lambda: net.Dialer(local_addr=5))  # type: ignore[arg-type]
        err(lambda: net.Dialer(local_addr="x").dial("tcp", str(ln.addr)))
        err(lambda: net.lookup_host(5))  # type: ignore[arg-type]
        for x in (c, s, ln, pc):
            x.close()
        deadline = ("a deadline is an absolute time.monotonic() value in seconds, or None "
                    "for none; got")
        assert out == [
            f"TypeError: set tcp {where}: {deadline} 'soon'",
            f"ValueError: set tcp {where}: a deadline of NaN; pass a time.monotonic() value "
            "or None",
            f"TypeError: set pipe: {deadline} True",
            f"TypeError: set udp {pc.local_addr}: {deadline} [1]",
            f"TypeError: set tcp {ln.addr}: {deadline} 'soon'",
            f"TypeError: write udp {pc.local_addr}: the address is an Addr or a str "
            "(\"host:port\", a unixgram path), not int",
            "ValueError: listen tcp: address x: missing port in address",
            "TypeError: listen tcp: an address is a string \"host:port\", got 5",
            "TypeError: listen unix: a unix address is a socket path (a str), got 5",
            "gaierror: [Errno -8] listen tcp: lookup tcp/-1: unknown port",
            "ValueError: listen udp: address 99999: invalid port",
            "ValueError: dial tcp: address [::1: missing ']' in address",
            "gaierror: [Errno -2] dial tcp: lookup 'a\\x00b': no such host",
            "ValueError: dial unix: a unix address is a socket path, got ''",
            "TypeError: gort.net.Dialer: keep_alive is a number of seconds, or None (or "
            "negative) for none, got 'x'",
            "TypeError: gort.net.Dialer: local_addr is a str (\"host:port\", a unix path), "
            "got 5",
            "ValueError: dial tcp: address x: missing port in address",
            "TypeError: lookup 5: a host is a str (a name or an IP address), not int",
        ], out
        return out

    gort.run(main)


def test_remote_address_of_a_connection_reset_before_accept() -> None:
    # getpeername fails (ENOTCONN) on a connection the peer reset before accept: the
    # remote address was empty. Go's (and now ours) is the one accept returned.
    def main() -> tuple[str, str, str]:
        ln = net.listen("tcp", "127.0.0.1:0")
        raw = socket.create_connection(("127.0.0.1", ln.addr.port))
        port = raw.getsockname()[1]
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # RST
        raw.close()
        gort.sleep(0.05)
        c = ln.accept()
        try:
            c.read(10)
            err = "no error"
        except ConnectionResetError as e:
            err = str(e)
        c.close()
        ln.close()
        return str(c.remote_addr), f"127.0.0.1:{port}", err

    got, want, err = gort.run(main)
    assert got == want
    assert err.startswith("[Errno 104] read tcp 127.0.0.1:"), err
    assert err.endswith(f"->{want}: read: connection reset by peer"), err


@pytest.mark.skipif(not socket.has_ipv6, reason="needs IPv6")
def test_ipv4_peers_of_a_dual_stack_listener_print_as_ipv4() -> None:
    # Go prints an IPv4 peer of a dual-stack ("tcp" on ":port") socket as 1.2.3.4;
    # ours printed the v4-mapped IPv6 form, ::ffff:127.0.0.1. Datagrams are answered.
    def main() -> list[str]:
        try:
            ln = net.listen("tcp", ":0")
        except OSError as e:
            pytest.skip(f"no dual-stack listener here: {e}")
        c = net.dial("tcp4", f"127.0.0.1:{ln.addr.port}")
        s = ln.accept()
        pc = net.listen_packet("udp", ":0")
        pc4 = net.listen_packet("udp4", "127.0.0.1:0")
        pc4.write_to(b"ping", f"127.0.0.1:{pc.local_addr.port}")
        data, frm = pc.read_from(10)
        pc.write_to(b"pong:" + data, frm)
        back, _ = pc4.read_from(10)
        out = [str(s.remote_addr), str(s.local_addr), str(frm), back.decode(),
               str(c.local_addr)]
        for x in (c, s, ln, pc, pc4):
            x.close()
        return out

    remote, local, frm, back, dialer = gort.run(main)
    assert remote == dialer and remote.startswith("127.0.0.1:")
    assert local.startswith("127.0.0.1:")
    assert frm.startswith("127.0.0.1:") and back == "pong:ping"
