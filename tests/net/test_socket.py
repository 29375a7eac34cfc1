"""gort.socket: the stdlib's socket semantics exactly, from a goroutine and from a thread."""

from __future__ import annotations

import array
import errno
import json
import os
import re
import select
import selectors
import socket as stdsocket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import gort
from gort import socket as gsocket

from ..conftest import run_testprog, tick_counter
from .helpers import free_port

Outcome = tuple[Any, ...]


def outcome(fn: Callable[[], Any]) -> Outcome:
    try:
        return ("ok", fn())
    except OSError as e:
        return (type(e).__name__, e.errno, str(e))
    except (TypeError, ValueError, OverflowError) as e:
        return (type(e).__name__, str(e))


def scenarios(mod: Any) -> list[Outcome]:
    """Every timeout case, with sockets of mod (the stdlib's socket or gort.socket)."""
    out: list[Outcome] = []
    a, b = mod.socketpair()
    ln = mod.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen()
    try:
        out.append(("defaults", a.gettimeout(), a.getblocking(), a.timeout))
        a.settimeout(0)
        out.append(("zero", a.gettimeout(), a.getblocking(), a.timeout))
        out.append(outcome(lambda: a.recv(1)))
        out.append(outcome(lambda: a.recv_into(bytearray(4))))
        ln.settimeout(0.0)
        out.append(outcome(ln.accept))
        out.append(outcome(lambda: a.send(b"x")))
        out.append(outcome(lambda: b.recv(10)))
        a.settimeout(0.05)
        out.append(("positive", a.gettimeout(), a.getblocking(), a.timeout))
        out.append(outcome(lambda: a.recv(1)))
        out.append(outcome(lambda: a.recvfrom(1)))
        ln.settimeout(0.05)
        out.append(outcome(ln.accept))
        b.sendall(b"hello")
        out.append(outcome(lambda: a.recv(100)))
        big = b"z" * (16 << 20)  # more than both socket buffers: the peer never reads
        out.append(outcome(lambda: a.sendall(big)))
        a.settimeout(None)
        out.append(("none", a.gettimeout(), a.getblocking(), a.timeout))
        a.setblocking(False)
        out.append(("setblocking False", a.gettimeout(), a.getblocking()))
        a.setblocking(True)
        out.append(("setblocking True", a.gettimeout(), a.getblocking()))
        out.append(outcome(lambda: a.settimeout(-1)))
        out.append(outcome(lambda: a.settimeout("1")))  # type: ignore[arg-type]
        out.append(("after bad", a.gettimeout()))
        c = mod.socket()
        c.settimeout(5)
        refused = ("127.0.0.1", free_port())
        out.append(outcome(lambda: c.connect(refused)))
        c.close()
        c = mod.socket()
        out.append(outcome(lambda: c.connect_ex(refused)))
        c.close()
        c = mod.socket()
        c.settimeout(5)
        out.append(outcome(lambda: c.connect(ln.getsockname())))
        conn, _ = ln.accept()
        out.append(("accepted", type(conn) is type(c), conn.gettimeout()))
        f = conn.makefile("rb")
        conn.settimeout(0.05)
        out.append(outcome(f.readline))
        out.append(outcome(f.readline))  # a SocketIO that timed out refuses to read on
        f.close()
        conn.close()
        c.close()
        a.close()
        out.append(outcome(lambda: a.recv(1)))
    finally:
        a.close()
        b.close()
        ln.close()
    return out


def in_thread(fn: Callable[[], list[Outcome]]) -> list[Outcome]:
    box: list[list[Outcome]] = []
    t = threading.Thread(target=lambda: box.append(fn()))
    t.start()
    t.join(60)
    assert box, "the scenarios did not finish"
    return box[0]


def test_timeout_semantics_are_the_stdlibs_from_a_goroutine_and_a_thread() -> None:
    want = in_thread(lambda: scenarios(stdsocket))
    assert want[1] == ("zero", 0.0, False, 0.0)
    assert want[2][0] == "BlockingIOError"
    assert want[9] == ("TimeoutError", None, "timed out")
    assert in_thread(lambda: scenarios(gsocket)) == want
    assert gort.run(scenarios, gsocket) == want


def test_a_waiting_goroutine_parks_and_its_timeout_is_kept() -> None:
    def main() -> tuple[int, float, bytes]:
        a, b = gsocket.socketpair()
        ticks = tick_counter(0.01, 100)
        a.settimeout(0.3)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match=r"^timed out$"):
            a.recv(1)
        took = time.monotonic() - t0
        seen = ticks[0]
        gort.after_func(0.05, b.sendall, b"late")
        data = a.recv(10)
        a.close()
        b.close()
        return seen, took, data

    ticks, took, data = gort.run(main)
    assert ticks >= 5  # the ticker ran while recv waited (a blocked thread: 0)
    assert 0.3 <= took < 3.0
    assert data == b"late"


def test_a_plain_thread_inside_a_run_blocks_only_itself() -> None:
    def main() -> tuple[bytes, int]:
        a, b = gsocket.socketpair()
        got: list[bytes] = []
        t = threading.Thread(target=lambda: got.append(a.recv(10)))
        t.start()
        n = 0
        for _ in range(10):
            gort.sleep(0.01)
            n += 1
        b.sendall(b"to thread")
        while t.is_alive():
            gort.sleep(0.01)
        a.close()
        b.close()
        return got[0], n

    assert gort.run(main) == (b"to thread", 10)


def test_closing_a_socket_wakes_its_waiter_with_ebadf() -> None:
    def main() -> tuple[Any, ...]:
        a, b = gsocket.socketpair()
        res: gort.Chan[Outcome] = gort.Chan(1)
        gort.go(lambda: res.send(outcome(lambda: a.recv(1))))
        gort.sleep(0.05)
        a.close()
        b.close()
        return res.recv()

    assert gort.run(main) == ("OSError", errno.EBADF,
                              f"[Errno {errno.EBADF}] {os.strerror(errno.EBADF)}")


def test_detach_leaves_the_descriptor_open_and_unregistered() -> None:
    def main() -> bytes:
        a, b = gsocket.socketpair()
        gort.after_func(0.02, b.send, b"1")
        assert a.recv(1) == b"1"  # registered in the netpoller now
        fd = a.detach()
        a2 = gsocket.socket(fileno=fd)  # the same descriptor, registered afresh
        gort.after_func(0.02, b.send, b"2")
        got = a2.recv(1)
        a2.close()
        b.close()
        return got

    assert gort.run(main) == b"2"


def test_a_name_is_resolved_without_holding_the_thread() -> None:
    def main() -> tuple[bytes, str, list[Any]]:
        ln = gsocket.create_server(("127.0.0.1", 0))
        port = ln.getsockname()[1]
        done: gort.Chan[None] = gort.Chan()

        def serve() -> None:
            with ln.accept()[0] as s:
                s.sendall(b"hi")
                done.recv()
            done.send(None)

        gort.go(serve)
        c = gsocket.create_connection(("localhost", port), timeout=10)
        data = c.recv(2)
        c.close()
        done.send(None)
        done.recv()
        ln.close()
        infos = gsocket.getaddrinfo("127.0.0.1", port, type=stdsocket.SOCK_STREAM)
        return data, gsocket.gethostbyname("localhost"), infos

    data, addr, infos = gort.run(main)
    assert data == b"hi"
    assert addr == "127.0.0.1"
    assert infos == stdsocket.getaddrinfo("127.0.0.1", infos[0][4][1],
                                          type=stdsocket.SOCK_STREAM)


def test_a_failed_lookup_raises_the_stdlibs_gaierror() -> None:
    def main() -> Outcome:
        return outcome(lambda: gsocket.getaddrinfo("no-such-host.invalid", 80))

    got = gort.run(main)
    want = outcome(lambda: stdsocket.getaddrinfo("no-such-host.invalid", 80))
    assert got == want
    assert got[0] == "gaierror"


def test_select_poll_and_selectors_park_the_goroutine() -> None:
    import selectors

    def main() -> list[Any]:
        a, b = gsocket.socketpair()
        ticks = [0]

        def tick() -> None:
            for _ in range(5):
                gort.sleep(0.01)
                ticks[0] += 1

        gort.go(tick)
        out: list[Any] = [gsocket.select([a], [], [], 0.1)]  # times out
        gort.after_func(0.02, b.send, b"x")
        out.append(gsocket.select([a], [], [], 5)[0] == [a])
        a.recv(1)
        p = gsocket.poll()
        p.register(a, select.POLLIN)
        gort.after_func(0.02, b.send, b"y")
        out.append(p.poll(5000))
        a.recv(1)
        out.append(p.poll(50))
        sel = gsocket._PollSelector()
        sel.register(a, selectors.EVENT_READ, "data")
        gort.after_func(0.02, b.send, b"z")
        out.append([(k.data, ev) for k, ev in sel.select(5)])
        sel.close()
        out.append(ticks[0])
        a.close()
        b.close()
        return out

    out = gort.run(main)
    assert out[0] == ([], [], [])
    assert out[1] is True
    assert out[2][0][1] == 1  # POLLIN
    assert out[3] == []
    assert out[4] == [("data", 1)]
    assert out[5] == 5  # the ticker kept time while they waited


def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    for ctx in (server, client):
        ctx.sslsocket_class = gsocket.SSLSocket  # what gort.patch.net() sets on the class
    return server, client


def test_tls_through_the_sslsocket_class_hook() -> None:
    server_ctx, client_ctx = _tls_contexts()

    def main() -> list[Any]:
        ln = gsocket.create_server(("127.0.0.1", 0))
        port = ln.getsockname()[1]

        done: gort.Chan[None] = gort.Chan()

        def serve() -> None:
            c, _ = ln.accept()
            s = server_ctx.wrap_socket(c, server_side=True)
            s.sendall(s.recv(100).upper() * 1000)
            done.recv()
            s.close()
            done.send(None)

        gort.go(serve)
        raw = gsocket.create_connection(("127.0.0.1", port), timeout=5)
        c = client_ctx.wrap_socket(raw, server_hostname="localhost")
        c.sendall(b"abc")
        data = b""
        while len(data) < 3000:
            data += c.recv(65536)
        c.settimeout(0.05)
        out: list[Any] = [type(c).__name__, data == b"ABC" * 1000, outcome(lambda: c.recv(1))]
        c.settimeout(0)
        out.append(outcome(lambda: c.recv(1))[0])
        c.close()
        done.send(None)
        done.recv()
        ln.close()
        return out

    got = gort.run(main)
    assert got == ["SSLSocket", True, ("TimeoutError", None, "The read operation timed out"),
                   "SSLWantReadError"]


@pytest.mark.parametrize("timeout", [None, 10.0])
def test_sendfile_parks_between_chunks(tmp_path: Any, timeout: float | None) -> None:
    data = os.urandom(1 << 16) * 64  # 4 MB: more than the socket buffers hold
    path = tmp_path / "f"
    path.write_bytes(data)

    def main() -> tuple[int, bool, int]:
        a, b = gsocket.socketpair()
        a.settimeout(timeout)
        got: gort.Chan[bytes] = gort.Chan(1)

        def reader() -> None:
            buf = bytearray()
            while len(buf) < len(data):
                buf += b.recv(1 << 16)
            got.send(bytes(buf))

        gort.go(reader)
        with open(path, "rb") as f:
            sent = a.sendfile(f)
        ok = got.recv() == data
        a.close()
        b.close()
        return sent, ok, len(data)

    sent, ok, n = gort.run(main)
    assert sent == n
    assert ok


def test_server_close_from_a_handler_is_an_error_not_a_wait_for_itself() -> None:
    # issue 12 adversarial pass: the handler's server_close waited for its own goroutine
    # forever (ThreadingMixIn raises "cannot join current thread" there).
    import socketserver

    import gort.socketserver as gss

    errors: list[str] = []

    class H(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                self.server.server_close()
            except RuntimeError as e:
                errors.append(str(e))

    def main() -> None:
        srv = gss.GoroutineTCPServer(("127.0.0.1", 0), H)
        c = stdsocket.create_connection(srv.server_address)
        srv.handle_request()
        gort.sleep(0.05)
        c.close()
        srv.server_close()  # from outside a handler: waits for none, returns

    gort.run(main)
    assert len(errors) == 1 and "would wait for that handler itself" in errors[0], errors


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), "1", 1e10])
def test_bad_timeouts_raise_what_the_stdlib_raises_on_a_goroutine(timeout: Any) -> None:
    # issue 12 adversarial pass: on a goroutine, select/poll/selectors and the patched
    # time.sleep parked forever for inf (the stdlib raises OverflowError) and failed inside
    # gort for NaN or a str. Compared with the stdlib's own calls on a ready descriptor.
    import selectors

    import gort.patch as gpatch
    import gort.socket as gs

    r, w = os.pipe()

    def error(fn: Callable[[], Any]) -> tuple[str, str]:
        try:
            fn()
        except Exception as e:
            return type(e).__name__, str(e)
        return "no error", ""

    ready_poll = select.poll()
    ready_poll.register(w, select.POLLOUT)
    ready_sel = selectors.PollSelector()
    ready_sel.register(w, selectors.EVENT_WRITE)
    want = [error(lambda: select.select([], [w], [], timeout)),
            error(lambda: ready_poll.poll(timeout)),
            error(lambda: ready_sel.select(timeout)),
            error(lambda: time.sleep(timeout) if not isinstance(timeout, float)
                  or timeout != timeout or timeout > 1e9 else None)]

    def main() -> list[tuple[str, str]]:
        p = gs.poll()
        p.register(r)
        sel = gs._PollSelector()
        sel.register(r, selectors.EVENT_READ)
        return [error(lambda: gs.select([r], [], [], timeout)), error(lambda: p.poll(timeout)),
                error(lambda: sel.select(timeout)), error(lambda: gpatch._sleep(timeout))]

    try:
        got = gort.run(main)
    finally:
        os.close(r)
        os.close(w)
        ready_sel.close()
    assert got == want
    assert all(kind != "no error" for kind, _ in got)


CHILD_SUM = "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_a_socket_given_to_a_child_as_stdio_is_blocking_there(timeout: float | None) -> None:
    """subprocess with stdin=sock, stdout=sock: the child reads every byte with blocking
    reads while the parent sends in slow pieces (it used to read EAGAIN: the descriptor
    was O_NONBLOCK, shared with the child), and the parent's socket still parks."""
    import hashlib
    import subprocess
    import sys

    def main() -> tuple[str, str, int, bool, bool]:
        a, b = gsocket.socketpair()
        a.settimeout(timeout)
        data = os.urandom(200_000)
        p = subprocess.Popen([sys.executable, "-c", CHILD_SUM], stdin=a, stdout=a)
        for i in range(0, len(data), 50_000):
            b.sendall(data[i:i + 50_000])
            gort.sleep(0.05)
        b.shutdown(stdsocket.SHUT_WR)
        got = b""
        while chunk := b.recv(100):
            got += chunk
            if got.endswith(b"\n"):
                break
        code = gort.offload(p.wait)
        # The parent's calls do not depend on the descriptor's mode: a recv with nothing
        # there parks the goroutine (a timer wakes it), it does not block the thread.
        fired = gort.Chan[bool](1)
        gort.after_func(0.05, lambda: fired.send(True))
        b.settimeout(0.2)
        try:
            b.recv(1)
            parked = False
        except TimeoutError:
            parked = fired.try_recv() is not None
        blocking = os.get_blocking(a.fileno())
        a.close()
        b.close()
        return got.decode().strip(), hashlib.sha256(data).hexdigest(), code, parked, blocking

    got, want, code, parked, blocking = gort.run(main)
    assert (got, code, parked, blocking) == (want, 0, True, True)


def test_the_descriptor_mode_is_blocking_unless_asked_or_needed() -> None:
    """O_NONBLOCK only for timeout 0.0, a listener, a TLS socket; the rest blocking."""

    def main() -> list[bool]:
        a, b = gsocket.socketpair()
        ln = gsocket.create_server(("127.0.0.1", 0))
        modes = [os.get_blocking(a.fileno())]
        a.settimeout(3)
        modes.append(os.get_blocking(a.fileno()))
        a.setblocking(False)
        modes.append(os.get_blocking(a.fileno()))
        a.settimeout(None)
        modes.append(os.get_blocking(a.fileno()))
        modes.append(os.get_blocking(ln.fileno()))
        ln.settimeout(None)  # a listener stays non-blocking: accept has no MSG_DONTWAIT
        modes.append(os.get_blocking(ln.fileno()))
        c = gsocket.create_connection(ln.getsockname(), timeout=5)
        modes.append(os.get_blocking(c.fileno()))  # after a connect (done non-blocking)
        for s in (a, b, ln, c):
            s.close()
        return modes

    assert gort.run(main) == [True, True, False, True, False, False, True]


def test_prefork_children_running_gort_share_a_listener_without_blocking() -> None:
    import json

    from ..conftest import run_testprog

    p = run_testprog("net_prefork.py", timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(p.stdout)
    # Each child's ticker ran while its accept waited 0.5 s (a blocking accept: ~0 ticks).
    assert r["blocking_after"] is False and r["from_children"] == 6, r
    assert r["min_ticks"] >= 10, r


# pytest's threading.excepthook reports the thread's SystemExit, which threading's own
# hook ignores (what a program without pytest sees).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_handlers_sys_exit_and_exception_end_only_that_request_as_under_threads(
        capsys: pytest.CaptureFixture[str]) -> None:
    """sys.exit() in a handler ended the whole program under GoroutineMixIn; under
    ThreadingMixIn it ends that handler's thread silently. An Exception goes to
    handle_error under both. The same requests, the same answers and error reports."""
    import socketserver

    import gort.socketserver as gss

    class H(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline().strip()
            if line == b"exit":
                raise SystemExit(3)
            if line == b"err":
                raise ValueError("bad request")
            self.wfile.write(b"ok " + line + b"\n")

    def ask(addr: Any, word: bytes) -> bytes:
        with gsocket.create_connection(addr, timeout=10) as c:
            c.sendall(word + b"\n")
            return c.recv(100)

    words = [b"a", b"exit", b"b", b"err", b"c"]

    def with_threads() -> list[bytes]:
        class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
            pass

        srv = S(("127.0.0.1", 0), H)
        t = threading.Thread(target=srv.serve_forever, args=(0.05,))
        t.start()
        try:
            return [ask(srv.server_address, w) for w in words]
        finally:
            srv.shutdown()
            srv.server_close()
            t.join()

    def with_goroutines() -> list[bytes]:
        srv = gss.GoroutineTCPServer(("127.0.0.1", 0), H)
        gort.go(srv.serve_forever, 0.05)
        try:
            return [ask(srv.server_address, w) for w in words]
        finally:
            srv.shutdown()
            srv.server_close()

    want = with_threads()
    err_threads = capsys.readouterr().err
    assert want == [b"ok a\n", b"", b"ok b\n", b"", b"ok c\n"]
    assert gort.run(with_goroutines) == want
    err_goroutines = capsys.readouterr().err
    for err in (err_threads, err_goroutines):
        assert err.count("ValueError: bad request") == 1, err
        assert "SystemExit" not in err, err


def _texts(mod: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> list[Any]:
    """Messages of calls that fail, with sockets and functions of mod."""
    out: list[Any] = []
    a, b = mod.socketpair()
    out.append(outcome(lambda: a.sendall("text")))  # type: ignore[arg-type]
    out.append(outcome(lambda: a.sendall(b"x", "0")))  # type: ignore[arg-type]
    out.append(outcome(lambda: a.send("text")))  # type: ignore[arg-type]
    try:
        a.sendall(memoryview(b"abcdef")[::2])  # not contiguous
    except BufferError as e:
        out.append(("BufferError", str(e)))
    a.close()
    b.close()
    out.append(outcome(lambda: a.settimeout(1)))  # closed: EBADF
    for host in ("localhost\0junk", b"localhost\0junk"):
        out.append(outcome(lambda h=host: sorted(mod.getaddrinfo(h, 80,
                                                                 type=stdsocket.SOCK_STREAM))))
        out.append(outcome(lambda h=host: mod.gethostbyname(h)))
        out.append(outcome(lambda h=host: mod.gethostbyname_ex(h)))
        out.append(outcome(lambda h=host: mod.gethostbyaddr(h)))
    for value in (1e300, -0.5, float("nan"), 2**70, 1e-10):
        s = mod.socket()
        out.append(outcome(lambda s=s, v=value: s.settimeout(v)))
        out.append(s.gettimeout())
        s.close()
    # unwrap() of a TLS connection whose peer never answers the close_notify
    ln = mod.create_server(("127.0.0.1", 0))
    c = mod.create_connection(ln.getsockname(), timeout=10)
    raw, _ = ln.accept()
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(
        server_ctx.wrap_socket(raw, server_side=True)))
    t.start()
    tc = client_ctx.wrap_socket(c, server_hostname="localhost")
    t.join()
    tc.settimeout(0.1)
    out.append(outcome(tc.unwrap))
    tc.close()
    box[0].close()
    ln.close()
    return out


def test_error_texts_are_the_stdlibs() -> None:
    """issue 12: sendall(str) said "memoryview: ...", a non-contiguous buffer raised
    TypeError, a NUL in a host name raised ValueError, unwrap's timeout said
    "handshake"; compared with the stdlib's calls."""
    server_ctx, client_ctx = _tls_contexts()
    plain_server, plain_client = _tls_contexts()
    for ctx in (plain_server, plain_client):
        ctx.sslsocket_class = ssl.SSLSocket
    want = in_thread(lambda: _texts(stdsocket, plain_server, plain_client))
    # gort's unwrap from a goroutine, its TLS server on a plain thread as the stdlib's
    got = gort.run(lambda: _texts(gsocket, server_ctx, client_ctx))
    assert got == want
    assert want[-1] in (("TimeoutError", None, "The read operation timed out"),
                        ("TimeoutError", None, "The write operation timed out"))


def test_a_second_cmd_wait_says_go_s_words() -> None:
    import gort.exec as gexec

    def main() -> list[str]:
        out = []
        for argv in (["true"], ["false"]):
            cmd = gexec.command(*argv)
            try:
                cmd.run()
            except gexec.ExitError as e:
                out.append(str(e))
            try:
                cmd.wait()
            except RuntimeError as e:
                out.append(str(e))
        return out

    assert gort.run(main) == ["exec: Wait was already called", "exit status 1",
                              "exec: Wait was already called"]


@pytest.mark.parametrize("on_goroutine", [True, False], ids=["goroutine", "no-runtime"])
def test_blocking_stream_calls_do_what_the_kernel_s_blocking_call_does(
        on_goroutine: bool) -> None:
    # Adversarial pass (issue 12): gort passes MSG_DONTWAIT and waits, so one call did
    # less than the stdlib's blocking one: send(4 MB) returned 219264 (the rest silently
    # lost by code that ignores the count), recv(n, MSG_WAITALL) returned short.
    def body() -> tuple[int, bytes, int, bytes]:
        a, b = gsocket.socketpair()
        c, d = gsocket.socketpair()
        data = os.urandom(4_000_000)
        got: list[bytes] = []

        def reader() -> None:
            n = 0
            while n < len(data):
                chunk = b.recv(65536)
                got.append(chunk)
                n += len(chunk)

        def feeder() -> None:
            d.send(b"12345")
            time.sleep(0.05)
            d.send(b"67890abcde")

        run = gort.go if on_goroutine else (lambda f: threading.Thread(target=f).start())
        run(reader)
        sent = a.send(data)
        run(feeder)
        waited = c.recv(10, stdsocket.MSG_WAITALL)
        buf = bytearray(5)
        n_into = c.recv_into(buf, 5, stdsocket.MSG_WAITALL)
        while sum(map(len, got)) < len(data):
            (gort.sleep if on_goroutine else time.sleep)(0.01)
        for s in (a, b, c, d):
            s.close()
        return sent, waited, n_into, b"".join(got) == data and bytes(buf)

    result = gort.run(body) if on_goroutine else body()
    assert result == (4_000_000, b"1234567890", 5, b"abcde")


def test_caller_s_no_wait_flags_are_answered_at_once() -> None:
    # MSG_DONTWAIT from the caller (the "is this idle connection alive?" peek hung for
    # good) and MSG_ERRQUEUE (EAGAIN at once on an empty error queue; it hung).
    def main() -> list[str]:
        ln = gsocket.socket()
        ln.bind(("127.0.0.1", 0))
        ln.listen()
        c = gsocket.create_connection(ln.getsockname())
        s, _ = ln.accept()
        out = []
        for call in (lambda: c.recv(1, stdsocket.MSG_PEEK | stdsocket.MSG_DONTWAIT),
                     lambda: c.recvmsg(1, 0, stdsocket.MSG_ERRQUEUE)):
            t = time.monotonic()
            try:
                call()
            except BlockingIOError as e:
                out.append(f"{e.errno == errno.EAGAIN} {time.monotonic() - t < 1}")
        for x in (c, s, ln):
            x.close()
        return out

    assert gort.run(main) == ["True True", "True True"]


def test_no_wait_flag_on_a_socket_with_a_timeout_waits_as_the_stdlib() -> None:
    # The stdlib polls before each try when a timeout is set, whatever the flags: a
    # recv, recvfrom or sendto with MSG_DONTWAIT waits and raises TimeoutError (gort
    # raised BlockingIOError at once; adversarial round 4, N2).
    def main() -> list[str]:
        a, b = gsocket.socketpair(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
        a.setblocking(False)
        while True:  # fill b's receive queue, so that a's sends would block
            try:
                a.send(b"x" * 512)
            except BlockingIOError:
                break
        a.settimeout(0.1)
        out = []
        for call in (lambda: a.recv(1, stdsocket.MSG_DONTWAIT),
                     lambda: a.recvfrom(1, stdsocket.MSG_DONTWAIT),
                     lambda: a.send(b"y", stdsocket.MSG_DONTWAIT)):
            t = time.monotonic()
            try:
                call()
            except TimeoutError:
                out.append(f"timeout {0.09 < time.monotonic() - t < 5}")
        a.close()
        b.close()
        return out

    assert gort.run(main) == ["timeout True"] * 3


@pytest.mark.parametrize("timeout", [None, 5.0, 0.0])
def test_connect_on_a_connected_socket_raises_eisconn(timeout: float | None) -> None:
    def main() -> tuple[str, int]:
        ln = gsocket.socket()
        ln.bind(("127.0.0.1", 0))
        ln.listen()
        c = gsocket.create_connection(ln.getsockname())
        c.settimeout(timeout)
        try:
            c.connect(ln.getsockname())
            err = "none"
        except OSError as e:
            err = errno.errorcode.get(e.errno or 0, "?")
        code = c.connect_ex(ln.getsockname())
        c.close()
        ln.close()
        return err, code

    assert gort.run(main) == ("EISCONN", errno.EISCONN)


def _msg_calls(mod: Any, go: Callable[[Callable[[], None]], None],
               sleep: Callable[[float], None]) -> list[Any]:
    """sendmsg/sendto/recvmsg/recvmsg_into/recvfrom/recvfrom_into on blocking stream
    sockets of mod, the peers run by go: what each returned."""
    out: list[Any] = []
    a, b = mod.socketpair()
    data = os.urandom(3_000_000)
    got: list[bytes] = []

    def reader() -> None:
        n = 0
        while n < len(data):
            chunk = b.recv(65536)
            got.append(chunk)
            n += len(chunk)

    go(reader)
    # More than the socket buffers: one MSG_DONTWAIT call queued ~200 KB of it.
    out.append(a.sendmsg(iter([data[:1_000_000], memoryview(data)[1_000_000:]])))
    for _ in range(1000):  # at most 10 s: a short send leaves the reader waiting
        if sum(map(len, got)) >= len(data):
            break
        sleep(0.01)
    out.append(b"".join(got) == data)
    got.clear()
    r, w = os.pipe()
    go(reader)
    out.append(a.sendmsg([data], [(stdsocket.SOL_SOCKET, stdsocket.SCM_RIGHTS,
                                   array.array("i", [r]).tobytes())]) > 0)
    for _ in range(1000):  # at most 10 s: a short send leaves the reader waiting
        if sum(map(len, got)) >= len(data):
            break
        sleep(0.01)
    out.append(b"".join(got) == data)
    os.close(r)
    os.close(w)

    def feeder() -> None:
        for _ in range(4):
            b.send(b"12345")
            sleep(0.03)
            b.send(b"67890")
            sleep(0.03)

    go(feeder)
    w = stdsocket.MSG_WAITALL
    out.append(a.recvmsg(10, 0, w)[:3])
    bufs = [bytearray(4), bytearray(6)]
    out.append((a.recvmsg_into(bufs, 0, w)[:3], bytes(bufs[0] + bufs[1])))
    out.append(a.recvfrom(10, w)[0])
    buf = bytearray(12)
    out.append((a.recvfrom_into(buf, 10, w)[0], bytes(buf)))
    a.close()
    b.close()
    ln = mod.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen()
    c = mod.create_connection(ln.getsockname())
    s, _ = ln.accept()
    b = s
    got.clear()
    go(reader)
    out.append(c.sendto(data, ("127.0.0.1", 9)))  # a connected TCP socket ignores it
    for _ in range(1000):  # at most 10 s: a short send leaves the reader waiting
        if sum(map(len, got)) >= len(data):
            break
        sleep(0.01)
    out.append(b"".join(got) == data)
    for x in (c, s, ln):
        x.close()
    return out


@pytest.mark.parametrize("on_goroutine", [True, False], ids=["goroutine", "no-runtime"])
def test_msg_and_from_calls_block_as_the_stdlib_s(on_goroutine: bool) -> None:
    # sendmsg returned after one MSG_DONTWAIT call (3 MB -> ~200 KB queued, the rest
    # silently lost by code that ignores the count), recvmsg/recvmsg_into/recvfrom/
    # recvfrom_into with MSG_WAITALL returned short, sendto likewise.
    def thread(f: Callable[[], None]) -> None:
        threading.Thread(target=f, daemon=True).start()

    want = _msg_calls(stdsocket, thread, time.sleep)
    if on_goroutine:
        have = gort.run(_msg_calls, gsocket, gort.go, gort.sleep)
    else:
        have = _msg_calls(gsocket, thread, time.sleep)
    assert have == want
    assert want == [3_000_000, True, True, True, (b"1234567890", [], 0),
                    ((10, [], 0), b"1234567890"), b"1234567890",
                    (10, b"1234567890\0\0"), 3_000_000, True]


def _wait_select(a: Any, fd: int) -> Any:
    return gsocket.select([a], [], [], 5)


def _wait_select_int(a: Any, fd: int) -> Any:
    return gsocket.select([fd], [], [], 5)


def _wait_poll(a: Any, fd: int) -> Any:
    p = gsocket.poll()
    p.register(fd, select.POLLIN)
    return p.poll(5000)


def _wait_selector(cls: Any) -> Callable[[Any, int], Any]:
    def wait(a: Any, fd: int) -> Any:
        sel = cls()
        sel.register(fd, selectors.EVENT_READ)
        sel.select = gsocket.selector_select_of(type(sel).select).__get__(sel)
        try:
            return [(k.fd == fd, ev) for k, ev in sel.select(5)]
        finally:
            sel.close()

    return wait


@pytest.mark.parametrize("reuse", [False, True], ids=["closed", "reused"])
@pytest.mark.parametrize(("wait", "want"), [
    (_wait_select, "ValueError file descriptor cannot be a negative integer (-1)"),
    (_wait_select_int, "OSError [Errno 9] Bad file descriptor"),
    (_wait_poll, "nval"),
    (_wait_selector(selectors.SelectSelector), "OSError [Errno 9] Bad file descriptor"),
    (_wait_selector(selectors.PollSelector), [(True, selectors.EVENT_READ)]),
    (_wait_selector(selectors.EpollSelector), [(True, selectors.EVENT_READ)]),
], ids=["select", "select-int", "poll", "SelectSelector", "PollSelector", "EpollSelector"])
def test_closing_a_socket_wakes_its_select_waiters(wait: Callable[[Any, int], Any],
                                                   want: Any, reuse: bool) -> None:
    # Go's close wakes the pollDesc's waiters; gort's select/poll/selectors slept on to
    # their timeout (5 s here), and a waiter woken later looked at the reused number.
    # Now: woken at once, with the stdlib's answer for a closed descriptor, never the
    # reused one's readiness (a readable socket pair takes the number over).
    def main() -> tuple[Any, bool, bool]:
        a, b = gsocket.socketpair()
        fd = a.fileno()
        res: list[Any] = []

        def waiter() -> None:
            t = time.monotonic()
            try:
                res.append(wait(a, fd))
            except (OSError, ValueError) as e:
                res.append(f"{type(e).__name__} {e}")
            res.append(time.monotonic() - t)

        gort.go(waiter)
        gort.sleep(0.05)
        a.close()
        reused = True
        if reuse:
            c, d = gsocket.socketpair()
            d.send(b"x")
            reused = fd in (c.fileno(), d.fileno())
        for _ in range(200):
            if len(res) == 2:
                break
            gort.sleep(0.01)
        b.close()
        if reuse:
            c.close()
            d.close()
        got = res[0]
        if got == [(fd, select.POLLNVAL)]:
            got = "nval"
        return got, res[1] < 1.0, reused

    assert gort.run(main) == (want, True, True)


def test_closing_from_another_thread_wakes_a_select_waiter() -> None:
    def main() -> tuple[str, bool]:
        a, b = gsocket.socketpair()
        res: list[Any] = []

        def waiter() -> None:
            t = time.monotonic()
            try:
                res.append(gsocket.select([a.fileno()], [], [], 5))
            except OSError as e:
                res.append(str(e))
            res.append(time.monotonic() - t)

        gort.go(waiter)
        gort.sleep(0.05)
        threading.Thread(target=a.close).start()
        for _ in range(200):
            if len(res) == 2:
                break
            gort.sleep(0.01)
        b.close()
        return res[0], res[1] < 1.0

    assert gort.run(main) == ("[Errno 9] Bad file descriptor", True)


_BAD_ADDRESSES: list[Any] = [
    ("127.0.0.1",), ("127.0.0.1", 80, 1), (1, 80), (b"127.0.0.1", 80), ("127.0.0.1", 70000),
    ("127.0.0.1", -1), "127.0.0.1:80", None, ("127.0.0.1", "80"), ("999.1.1.1", 80),
    (None, 80), ("127.0.0.1\0x", 80), ("localhost\0", 80), ("\xe9" * 70, 80),
    ("127.0.0.1", 1.5), [("127.0.0.1", 80)], ("localhost", 70000), ("localhost", "x"),
]


def _call_texts(mod: Any) -> list[Outcome]:
    """connect/connect_ex on bad addresses and closed sockets, and reprs, with mod."""

    def seen(fn: Callable[[], Any]) -> Outcome:
        try:
            return ("ok", fn())
        except Exception as e:
            return (type(e).__name__, getattr(e, "errno", None), str(e))

    def norm(r: str) -> str:
        return re.sub(r"fd=-?\d+", "fd=N", re.sub(r"\d{4,5}\)", "P)", r))

    out: list[Outcome] = []
    for addr in _BAD_ADDRESSES:
        for timeout in (None, 2.0, 0.0):
            s = mod.socket()
            s.settimeout(timeout)
            out.append((repr(addr), timeout, seen(lambda s=s, a=addr: s.connect(a)),
                        seen(lambda s=s, a=addr: s.connect_ex(a))))
            s.close()
    s6 = mod.socket(stdsocket.AF_INET6)
    out.append(seen(lambda: s6.connect(("127.0.0.1", 80, 0, 0, 1))))
    s6.close()
    out.append(("closed", seen(lambda: s.connect(("127.0.0.1", 9))),
                seen(lambda: s.connect_ex(("127.0.0.1", 9))),
                seen(lambda: s.connect(("127.0.0.1",))), norm(repr(s))))
    ln = mod.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen()
    c = mod.create_connection(ln.getsockname())
    a, _ = ln.accept()

    class Sub(mod.socket):  # type: ignore[name-defined,misc]
        pass

    sub = Sub()
    out.append((norm(repr(ln)), norm(repr(c)), norm(repr(a)), norm(repr(sub))))
    for x in (c, a, ln, sub):
        x.close()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.sslsocket_class = mod.SSLSocket if mod is gsocket else ssl.SSLSocket
    p, q = mod.socketpair()
    p.settimeout(0.05)
    out.append(seen(lambda: ctx.wrap_socket(p, server_hostname="x")))
    p2, q2 = mod.socketpair()
    p2.settimeout(0.05)
    t = ctx.wrap_socket(p2, do_handshake_on_connect=False)
    out.append((norm(repr(t)), seen(t.do_handshake), seen(lambda: t.recv(1)),
                seen(lambda: t.send(b"x"))))
    t.close()
    out.append(norm(repr(t)))
    for x in (p, q, q2):
        x.close()
    return out


def test_error_texts_and_reprs_are_the_stdlib_s() -> None:
    # Differential: the stdlib's socket.socket (no runtime) against gort.socket.socket on
    # a goroutine, every exception's type, errno and text, every value. Before: connect's
    # parse errors said "connect_ex(): ...", a NUL in the host was cut there and the
    # connect made, a closed socket's connect raised ValueError, the handshake timeout
    # lacked CPython's "_ssl.c:NNN: " prefix, gort's class showed in reprs, and a send
    # on an SSLSocket whose handshake had not run waited for the peer for good.
    want = _call_texts(stdsocket)
    have = gort.run(_call_texts, gsocket)
    assert len(have) == len(want)
    for w, h in zip(want, have, strict=True):
        assert h == w
    assert want[-1] == "<ssl.SSLSocket [closed] fd=N, family=1, type=1, proto=0>"
    assert want[-2][1][0] == "TimeoutError"
    assert want[-2][1][2].endswith("The handshake operation timed out")


def test_a_call_s_timeout_bounds_its_wait_for_a_busy_direction() -> None:
    # Two threads blocked on one stdlib socket each keep their own timeout. A goroutine
    # whose call had a timeout waited for the direction's turn, held by a call with
    # none (recv; sendall to a peer that does not read), for as long as that call
    # lasted (1.2 s here; forever for the sendall) instead of raising after 0.2 s.
    def main() -> list[Any]:
        out: list[Any] = []
        for first, second in (
                (lambda a: a.recv(1), lambda a: a.recv(1)),
                (lambda a: a.sendall(b"x" * 5_000_000), lambda a: a.send(b"y"))):
            a, b = gsocket.socketpair()
            res: list[Any] = []

            def run(tag: str, f: Callable[[Any], Any], a: Any = a,
                    res: list[Any] = res) -> None:
                t = time.monotonic()
                try:
                    r: Any = f(a)
                except TimeoutError as e:
                    r = str(e)
                except OSError:  # the first call, when the socket closes under it
                    return
                res.append((tag, r, time.monotonic() - t < 0.8))

            gort.go(run, "first", first)
            gort.sleep(0.05)
            a.settimeout(0.2)
            gort.go(run, "second", second)
            gort.sleep(1.0)
            out.append(list(res))
            b.send(b"z")
            a.close()
            b.close()
            gort.sleep(0.05)
        return out

    assert gort.run(main) == [[("second", "timed out", True)], [("second", "timed out", True)]]


def _connect_again(mod: Any, sleep: Callable[[float], None]) -> list[Any]:
    def code(f: Callable[[Any], Any], addr: Any) -> Any:
        try:
            return f(addr)
        except OSError as e:
            return errno.errorcode.get(e.errno or 0, e.errno)

    out: list[Any] = []
    for t in (None, 1.0, 0.0):
        ln = mod.socket()
        ln.bind(("127.0.0.1", 0))
        ln.listen()
        addr = ln.getsockname()
        s = mod.socket()
        s.settimeout(t)
        s2 = mod.socket()
        s2.settimeout(t)
        row = [t, code(s.connect, addr)]
        sleep(0.01)
        row += [code(s.connect, addr), code(s.connect_ex, addr), code(s2.connect_ex, addr)]
        sleep(0.01)
        row += [code(s2.connect_ex, addr), code(s2.connect_ex, addr)]
        out.append(row)
        for x in (s, s2, ln):
            x.close()
    return out


def test_connect_again_answers_as_the_stdlib_s() -> None:
    # The kernel keeps an asynchronously connected socket "connecting" until a connect
    # looks: the stdlib's blocking socket raises EISCONN on a second connect, its socket
    # with a timeout (connected asynchronously by CPython) succeeds once more. gort
    # raised EISCONN for both (and a failed blocking connect left ECONNABORTED behind).
    want = _connect_again(stdsocket, time.sleep)
    assert want == [[None, None, "EISCONN", errno.EISCONN, 0, errno.EISCONN, errno.EISCONN],
                    [1.0, None, None, errno.EISCONN, 0, 0, errno.EISCONN],
                    [0.0, "EINPROGRESS", None, errno.EISCONN, errno.EINPROGRESS, 0,
                     errno.EISCONN]]
    assert gort.run(_connect_again, gsocket, gort.sleep) == want
    assert _connect_again(gsocket, time.sleep) == want


@pytest.mark.timeout(60)
def test_select_and_poll_on_unpollable_fds_wait_out_their_timeout() -> None:
    # epoll refuses regular files, /dev/null and directories (EPERM): they are always
    # ready for read and write, never for POLLPRI, as select(2)/poll(2) say; a wait for
    # what they never have waits on the pollable rest (it used to spin for good).
    import tempfile

    def main() -> list[Any]:
        tf = tempfile.TemporaryFile()  # noqa: SIM115
        null = open(os.devnull)  # noqa: SIM115
        dirfd = os.open(tempfile.gettempdir(), os.O_RDONLY)
        a, b = gsocket.socketpair()
        ticks = tick_counter(0.01, 5)
        out: list[Any] = []
        t0 = time.monotonic()
        out.append(gsocket.select([], [], [tf, null], 0.1))
        p = gsocket.poll()
        p.register(tf, select.POLLPRI)
        p.register(dirfd, 0)
        out.append(p.poll(100))
        out.append(time.monotonic() - t0)
        out.append(ticks[0])
        out.append(gsocket.select([tf], [null], [], 5) == ([tf], [null], []))
        gort.after_func(0.02, b.send, b"x")
        out.append(gsocket.select([a], [], [tf], 5) == ([a], [], []))
        p.register(a, select.POLLIN)
        out.append(p.poll(5000) == [(a.fileno(), select.POLLIN)])
        for f in (tf, null, a, b):
            f.close()
        os.close(dirfd)
        return out

    out = gort.run(main)
    assert out[0] == ([], [], [])
    assert out[1] == []
    assert 0.2 <= out[2] < 5  # each waited out its 0.1 s
    assert out[3] == 5  # the goroutine parked, the ticker kept time
    assert out[4:] == [True, True, True]


@pytest.mark.timeout(60)
def test_own_shutdown_wakes_the_waiters_in_its_direction() -> None:
    # AF_UNIX: the kernel shows no EPOLLOUT for the socket's own SHUT_WR, so a sendall
    # parked on a full buffer slept on; the stdlib's gets EPIPE at once.
    def main() -> list[Any]:
        out: list[Any] = []
        for how in (stdsocket.SHUT_WR, stdsocket.SHUT_RDWR, stdsocket.SHUT_RD):
            a, b = gsocket.socketpair()
            done: gort.Chan[Any] = gort.Chan(1)

            def io(a: Any = a, how: int = how, done: Any = done) -> None:
                try:
                    if how == stdsocket.SHUT_RD:
                        done.send(("ok", a.recv(10)))
                    else:
                        a.sendall(b"y" * 20_000_000)
                        done.send(("ok",))
                except OSError as e:
                    done.send((type(e).__name__,))

            gort.go(io)
            gort.sleep(0.05)
            a.shutdown(how)
            t = gort.Timer(10)
            i, v = gort.select(done.recv, t.c.recv)
            t.stop()
            out.append(v if i == 0 else "still blocked")
            a.close()
            b.close()
        return out

    assert gort.run(main) == [("BrokenPipeError",), ("BrokenPipeError",), ("ok", b"")]


def test_mixin_server_in_a_background_thread_and_server_close_with_idle_clients() -> None:
    from ..conftest import run_testprog

    r = run_testprog("net_mixin_thread.py", "thread", module=False, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "got " + str([b"ok"] * 5) + "\n", "")
    r = run_testprog("net_mixin_thread.py", "idle", timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "resp b'ok'\nserver_close waited False\n", "")


def test_mixin_tls_listener_wrapped_without_the_patch_parks_handlers() -> None:
    from ..conftest import run_testprog

    pytest.importorskip("trustme")
    r = run_testprog("net_mixin_tls_nopatch.py", env={"GODEBUG": "blockreport=0"}, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "[('fast', True), ('normal', b'ok'), ('slow', True)] ssl\n"


def _parking(cls: Any) -> Any:
    return type("Parking" + cls.__name__, (cls,),
                {"select": gsocket.selector_select_of(cls.select)})


def _quiet_waits(mod: Any, sel_fn: Callable[..., Any], parking: Callable[[Any], Any]
                 ) -> list[Any]:
    """Waits on descriptors in a state the stdlib's answer does not count (the epoll
    below reports it): each sleeps to its timeout and answers nothing. (result, slept
    the timeout) per case."""
    out: list[Any] = []

    def timed(fn: Callable[[], Any]) -> None:
        t0 = time.monotonic()
        r = fn()
        out.append((r, time.monotonic() - t0 >= 0.1))

    # An epoll selector forgets a descriptor closed while registered, even when its
    # number is taken again by a file that is ready.
    sel = parking(selectors.EpollSelector)()
    c, d = mod.socketpair()
    sel.register(c, selectors.EVENT_READ)
    n = c.fileno()
    c.close()
    r, w = os.pipe()
    os.write(w, b"x")
    out.append(r == n)
    timed(lambda: sel.select(0.1))
    sel.close()
    # The peer closed (EPOLLHUP): not exceptional for select; a pipe's read end whose
    # writer closed (EPOLLHUP): never writable.
    os.close(w)
    timed(lambda: sel_fn([], [], [d], 0.1))
    timed(lambda: sel_fn([], [r], [], 0.1))
    for cls in (selectors.SelectSelector, selectors.PollSelector):
        sel = parking(cls)()
        if cls is selectors.SelectSelector:
            sel.register(r, selectors.EVENT_WRITE)
            timed(lambda s=sel: s.select(0.1))
        # A closed selector has no keys: [] at its timeout (its map is None).
        sel.close()
        timed(lambda s=sel: s.select(0.1))
    os.close(r)
    d.close()
    return out


@pytest.mark.timeout(60)
def test_waits_on_what_the_stdlib_does_not_count_sleep_as_the_stdlibs() -> None:
    # The private epoll reported these states over and over, the stdlib's answer was
    # empty every time: the goroutine spun for ever, past any timeout.
    want = [True, ([], True), (([], [], []), True), (([], [], []), True), ([], True),
            ([], True), ([], True)]
    assert _quiet_waits(stdsocket, select.select, lambda cls: cls) == want
    assert gort.run(_quiet_waits, gsocket, gsocket.select, _parking) == want


def _connect_unanswered(mod: Any, sleep: Callable[[float], None]) -> list[Any]:
    """connect and connect_ex again while a connect is still in progress (a TCP listener
    whose queue is full drops the SYN), and into a full AF_UNIX queue, with mod."""
    def code(f: Callable[[Any], Any], addr: Any) -> Any:
        try:
            return f(addr)
        except TimeoutError as e:
            return ("timeout", str(e))
        except OSError as e:
            return errno.errorcode.get(e.errno or 0, e.errno)

    out: list[Any] = []
    ln = stdsocket.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen(0)
    addr = ln.getsockname()
    fill = [stdsocket.socket() for _ in range(3)]
    for f in fill:
        f.setblocking(False)
        f.connect_ex(addr)
    sleep(0.05)
    for t in (0.1, 0.0):
        for first in ("connect", "connect_ex"):
            s = mod.socket()
            s.settimeout(t)
            out.append([t, code(getattr(s, first), addr), code(s.connect_ex, addr),
                        code(s.connect, addr)])
            s.close()
    for f in (*fill, ln):
        f.close()
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gort-h12-{os.getpid()}")
    ln = stdsocket.socket(stdsocket.AF_UNIX)
    ln.bind(path)
    ln.listen(0)
    fill = [stdsocket.socket(stdsocket.AF_UNIX) for _ in range(2)]
    for f in fill:
        f.setblocking(False)
        f.connect_ex(path)
    for t in (0.1, 0.0, None) if mod is gsocket else (0.1, 0.0):
        # (None: the stdlib's blocking connect sleeps on after an accept made room; the
        # kernel wakes it on the listener's close only. gort's tries again.)
        s = mod.socket(stdsocket.AF_UNIX)
        s.settimeout(t)
        room = threading.Timer(0.1, lambda: ln.accept()[0].close())
        if t is None:
            room.start()
        row = [t, code(s.connect_ex, path)]
        if t is None:
            room.join()
            ln.accept()[0].close()  # s's connection: room again (else connect waits too)
        row.append(code(s.connect, path))
        try:
            row.append(s.getpeername() == path)
        except OSError as e:
            row.append(errno.errorcode.get(e.errno or 0))
        out.append(row)
        s.close()
    for f in (*fill, ln):
        f.close()
    os.unlink(path)
    return out


@pytest.mark.timeout(60)
def test_connect_unanswered_answers_as_the_stdlib_s() -> None:
    # With a timeout, CPython waits for EINPROGRESS only: a connect still in progress
    # answers EALREADY at once, a full AF_UNIX queue EAGAIN. On a goroutine the second
    # connect waited for its timeout again; a full AF_UNIX queue was waited for as
    # writable and the socket reported connected, unconnected (ENOTCONN next).
    want = _connect_unanswered(stdsocket, time.sleep)
    assert want == [
        [0.1, ("timeout", "timed out"), errno.EALREADY, "EALREADY"],
        [0.1, errno.EAGAIN, errno.EALREADY, "EALREADY"],
        [0.0, "EINPROGRESS", errno.EALREADY, "EALREADY"],
        [0.0, errno.EINPROGRESS, errno.EALREADY, "EALREADY"],
        [0.1, errno.EAGAIN, "EAGAIN", "ENOTCONN"],
        [0.0, errno.EAGAIN, "EAGAIN", "ENOTCONN"]]
    want.append([None, 0, "EISCONN", True])  # connected once the accept made room
    assert gort.run(_connect_unanswered, gsocket, gort.sleep) == want
    assert _connect_unanswered(gsocket, time.sleep) == want


def _chains(mod: Any, tls_class: Any) -> list[Any]:
    """Each blocking call's error with its chain (__context__, __cause__, suppressed), with
    mod's sockets, raised bare and inside a handler of the program's (the stdlib's
    error has the program's exception as context, and nothing else)."""
    import tempfile

    def chain(fn: Callable[[], Any]) -> Any:
        try:
            fn()
        except Exception as e:
            c, k = e.__context__, e.__cause__
            return (type(e).__name__, str(e), e.__suppress_context__,
                    type(c).__name__ if c else None, type(k).__name__ if k else None)
        return "no error"

    def both(fn: Callable[[], Any]) -> list[Any]:
        def handled() -> None:
            try:
                raise KeyError("the program's")
            except KeyError:
                fn()

        return [chain(fn), chain(handled)]

    def fill(s: Any) -> None:
        while True:
            s.send(b"x" * 65536)

    def fill_msg(s: Any) -> None:
        while True:
            s.sendmsg([b"x" * 65536])

    a, b = mod.socketpair()
    a.settimeout(0.02)
    out = [both(lambda: a.recv(1)), both(lambda: a.recv_into(bytearray(1))),
           both(lambda: a.recvfrom(1)), both(lambda: a.recvmsg(1)),
           both(lambda: a.recv(9, stdsocket.MSG_WAITALL))]
    f = a.makefile("rb")
    out.append(both(lambda: f.read(1)))
    f.close()
    out += [both(lambda: a.sendall(b"x" * 8_000_000)), both(lambda: fill(a)),
            both(lambda: fill_msg(a))]
    with tempfile.TemporaryFile() as tf:
        tf.write(b"x" * 8_000_000)
        tf.flush()
        out.append(both(lambda: (tf.seek(0), a.sendfile(tf))))
    a.close()
    out.append(both(lambda: a.recv(1)))
    b.close()
    ln = mod.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen(0)
    ln.settimeout(0.02)
    out.append(both(ln.accept))
    full = [stdsocket.socket() for _ in range(3)]
    for s in full:
        s.setblocking(False)
        s.connect_ex(ln.getsockname())
    c = mod.socket()
    c.settimeout(0.02)
    out += [both(lambda: c.connect(ln.getsockname())),
            both(lambda: c.connect(("127.0.0.1", 70000)))]
    for s in (*full, c, ln):
        s.close()
    # A TLS handshake whose peer never answers.
    a, b = mod.socketpair()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.sslsocket_class = tls_class
    t = ctx.wrap_socket(a, do_handshake_on_connect=False)
    t.settimeout(0.02)
    out.append(both(t.do_handshake))
    for s in (t, b):
        s.close()
    # The waits for several descriptors, and a lookup (on a goroutine: offloaded).
    sel_fn = gsocket.select if mod is gsocket else select.select
    out.append(both(lambda: sel_fn([t], [], [], 0.02)))
    out.append(both(lambda: sel_fn([], [], [], "1")))
    out.append(both(lambda: mod.getaddrinfo("localhost", "no-such-service-gort")))
    return out


@pytest.mark.timeout(60)
def test_errors_carry_the_stdlibs_chain() -> None:
    # A timeout or EBADF of a parked call was raised `from None` inside the handler of
    # the poller's error: __context__ held gort's TimeoutError("i/o timeout") or
    # ErrClosed (__suppress_context__ True), where the stdlib's has none (or the
    # program's own exception); a connect's parse error had the connect_ex's as context.
    want = _chains(stdsocket, ssl.SSLSocket)
    assert want[0] == [("TimeoutError", "timed out", False, None, None),
                       ("TimeoutError", "timed out", False, "KeyError", None)]
    assert want[-4][0][1].endswith("The handshake operation timed out")
    assert want[-1][0][0] == "gaierror"
    assert gort.run(_chains, gsocket, gsocket.SSLSocket) == want
    assert _chains(gsocket, gsocket.SSLSocket) == want


def _send_blocked_then_peer_closes(mod: Any, spawn: Callable[[Callable[[], None]], None],
                                   sleep: Callable[[float], None]) -> list[Any]:
    """A sendall blocked on a full AF_UNIX socket whose peer closes with data unread, and
    a send after that (mod's sockets; the blocked call in spawn's thread of control)."""
    a, b = mod.socketpair()
    a.setblocking(False)
    try:
        while True:
            a.send(b"x" * 65536)
    except BlockingIOError:
        pass
    a.setblocking(True)
    out: list[Any] = []

    def blocked() -> None:
        try:
            a.sendall(b"y" * 1_000_000)
        except OSError as e:
            out.append((type(e).__name__, e.__context__))

    spawn(blocked)
    sleep(0.1)
    b.close()
    for _ in range(100):
        if out:
            break
        sleep(0.02)
    try:
        a.send(b"z")
    except OSError as e:
        out.append(type(e).__name__)
    a.close()
    return out


@pytest.mark.timeout(60)
def test_a_blocked_unix_send_wakes_to_the_peers_reset_as_the_stdlibs() -> None:
    # The kernel's blocked send reads the pending ECONNRESET first; gort's retry after
    # the wait (MSG_DONTWAIT) got EPIPE, and the error stayed pending.
    def thread(fn: Callable[[], None]) -> None:
        threading.Thread(target=fn, daemon=True).start()

    want = _send_blocked_then_peer_closes(stdsocket, thread, time.sleep)
    assert want == [("ConnectionResetError", None), "BrokenPipeError"]
    assert gort.run(_send_blocked_then_peer_closes, gsocket, gort.go, gort.sleep) == want
    assert _send_blocked_then_peer_closes(gsocket, thread, time.sleep) == want


@pytest.mark.parametrize("which", ["select", "poll", "selector"])
def test_a_first_wait_answers_for_a_closed_number_as_the_stdlib(which: str) -> None:
    # gort's probe descriptors (the timeout's checks) were made at a process's first
    # wait and took the number just freed: nothing ready after the timeout, where the
    # stdlib answers for the closed descriptor at once.
    want = {"select": [["OSError", errno.EBADF], True],
            "poll": [[[True, select.POLLNVAL]], True],
            "selector": [["OSError", errno.EBADF], True]}[which]
    for mode in ("std", "gort"):
        r = run_testprog("net_probe_fds.py", mode, which, module=False)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == [want], (mode, r.stdout)


@pytest.mark.parametrize("cls", [selectors.EpollSelector, selectors.PollSelector,
                                 selectors.SelectSelector])
def test_a_selector_closed_under_a_wait_answers_as_the_stdlibs(cls: type) -> None:
    # The stdlib's wait goes on in the kernel over what it had and answers [] when one
    # of those descriptors comes ready: gort's raised ValueError (a closed epoll asked)
    # or waited out the whole timeout.
    def main() -> tuple[Any, bool]:
        sel = cls()
        sel.select = gsocket.selector_select_of(cls.select).__get__(sel)  # type: ignore[method-assign]
        a, b = gsocket.socketpair()
        sel.register(a, selectors.EVENT_READ)
        out: list[Any] = []

        def waiter() -> None:
            t0 = time.monotonic()
            out.append(sel.select(20.0))
            out.append(time.monotonic() - t0 < 10)

        wg = gort.sync.WaitGroup()
        wg.go(waiter)
        gort.sleep(0.05)
        sel.close()
        gort.sleep(0.05)
        b.sendall(b"x")
        wg.wait()
        a.close()
        b.close()
        return out[0], out[1]

    assert gort.run(main) == ([], True)



def _parked_sendto(how: str, tmp: str) -> list[Any]:
    """A blocking unconnected sendto to an AF_UNIX receiver whose queue is full, parked
    0.5 s (how: a gort.socket on a goroutine, gort.net's write_to on a goroutine, a
    gort.socket on a plain thread); then the receiver reads one datagram, and a send
    with a 0.3 s timeout follows (the queue is full again). Returns the process's CPU
    seconds over the parked 0.5 s, whether the first send completed after the read,
    and the timed send's outcome."""
    path = os.path.join(tmp, "r")
    r = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    r.bind(path)
    r.setblocking(False)
    fill = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    fill.setblocking(False)
    try:
        while True:
            fill.sendto(b"fill", path)
    except BlockingIOError:
        pass
    fill.close()
    out: list[Any] = []

    def sender() -> None:
        if how == "net":
            pc = gort.net.listen_packet("unixgram", os.path.join(tmp, "s"))
            pc.write_to(b"first", path)
            out.append("sent")
            pc.set_write_deadline(time.monotonic() + 0.3)
            send: Callable[[], Any] = lambda: pc.write_to(b"late", path)  # noqa: E731
            closer: Any = pc
        else:
            s = closer = gsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
            s.sendto(b"first", path)
            out.append("sent")
            s.settimeout(0.3)
            send = lambda: s.sendto(b"late", path)  # noqa: E731
        t0 = time.monotonic()
        try:
            send()
        except TimeoutError as e:
            out.append(("timeout", 0.29 <= time.monotonic() - t0 < 3.0,
                        str(e).endswith("i/o timeout" if how == "net" else "timed out")))
        finally:
            closer.close()

    def main(sleep: Callable[[float], None]) -> list[Any]:
        c0 = time.process_time()
        sleep(0.5)
        cpu = time.process_time() - c0
        parked = list(out)
        r.recv(100)  # room for one
        for _ in range(500):
            if len(out) == 2:
                break
            sleep(0.01)
        return [cpu, parked, out]

    try:
        if how == "thread":
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            got = main(time.sleep)
            t.join(10)
            return got
        return gort.run(lambda: (gort.go(sender), main(gort.sleep))[1])
    finally:
        r.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["socket", "net", "thread"])
def test_a_sendto_parked_on_a_full_unix_receiver_does_not_spin(how: str, tmp_path: Any) -> None:
    # Linux's poll calls an unconnected AF_UNIX datagram sender writable (its own
    # buffer has room) while sendto answers EAGAIN (the receiver's queue is full), and
    # each failed send wakes the poller again: the parked sender spun, about 0.4 s of
    # CPU in this 0.5 s wait (the stdlib's blocking sendto sleeps in the kernel).
    cpu, parked, after = _parked_sendto(how, str(tmp_path))
    assert parked == []
    assert after == ["sent", ("timeout", True, True)]
    assert cpu < 0.15, cpu
