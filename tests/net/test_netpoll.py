"""The netpoller inside the scheduler (runtime/netpoll.py, poll_runtime.py): IO wait in
dumps, deadlock detection, the interrupt protocol, close, idle cost, sysmon's polls."""

from __future__ import annotations

import array
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import gort
import gort.net as net
import gort.os as gos
import gort.runtime as rt
from gort.runtime.netpoll import Netpoll

from ..conftest import run_testprog
from .helpers import conn_pair

pytestmark = pytest.mark.timeout(60)


def _late_client(port: int, delay: float, payload: bytes) -> threading.Thread:
    """A plain thread (no goroutine) that connects, waits, sends payload, then closes."""

    def run() -> None:
        with socket.create_connection(("127.0.0.1", port)) as s:
            time.sleep(delay)
            s.sendall(payload)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_waiting_on_a_socket_is_not_a_deadlock() -> None:
    """Only the main goroutine, parked in IO wait; a thread writes later: no Deadlock."""

    def main() -> bytes:
        ln = net.listen("tcp", "127.0.0.1:0")
        _late_client(ln.addr.port, 0.2, b"late")
        c = ln.accept()
        t0 = time.monotonic()
        d = c.read(10)
        assert time.monotonic() - t0 >= 0.15
        c.close()
        ln.close()
        return d

    assert gort.run(main) == b"late"


def test_a_real_deadlock_beside_an_idle_socket_is_still_reported() -> None:
    def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")  # registered, nobody waits on it
        try:
            gort.Chan[int]().recv()
        finally:
            ln.close()

    with pytest.raises(gort.Deadlock):
        gort.run(main)


def test_goroutine_dump_shows_io_wait_and_where() -> None:
    def main() -> str:
        c, s = conn_pair()
        gort.go(c.read, 1)
        gort.sleep(0.01)
        dump = gort.stack()
        c.close()
        s.close()
        return dump

    dump = gort.run(main)
    block = next(b for b in dump.split("\n\n") if "[IO wait]" in b)
    assert "gort.net.Conn.read(...)" in block, block
    assert "created by" in block


def test_goraise_takes_a_goroutine_off_its_io_wait() -> None:
    """The interrupt protocol: the wait is cancelled, nwait drops, the socket still works."""

    def main() -> tuple[str, bytes]:
        c, s = conn_pair()
        sched = rt.current_sched()
        out: gort.Chan[Any] = gort.Chan(1)
        gp: list[rt.G] = []

        def reader() -> None:
            gp.append(rt.getg())
            try:
                c.read(1)
            except KeyError as e:
                out.send(f"raised {e.args[0]}")

        gort.go(reader)
        for _ in range(1000):  # until the reader parks (bounded: 10 s)
            gort.sleep(0.01)
            if sched.netpoll.nwait:
                break
        assert sched.netpoll.nwait == 1
        assert gp[0].waitreason == "IO wait"
        rt.goraise(gp[0], KeyError("stop"))
        msg = out.recv()
        assert sched.netpoll.nwait == 0
        s.write(b"!")
        d = c.read(1)  # the edge recorded meanwhile is not lost
        c.close()
        s.close()
        return msg, d

    assert gort.run(main) == ("raised stop", b"!")


def test_close_unregisters_before_closing_the_descriptor() -> None:
    def main() -> None:
        c, s = conn_pair()
        sched = rt.current_sched()
        fd = c.fileno()
        assert sched.netpoll.pds[fd] is c._fd.pd
        out: gort.Chan[type[BaseException]] = gort.Chan(1)

        def reader() -> None:
            try:
                c.read(1)
            except OSError as e:
                out.send(type(e))

        gort.go(reader)
        gort.sleep(0.01)
        c.close()
        assert fd not in sched.netpoll.pds
        assert out.recv() is net.ErrClosed
        assert sched.netpoll.nwait == 0
        # The number is free again: a new socket may get it and registers cleanly.
        c2, s2 = conn_pair()
        for x in (c2, s2, s):
            x.close()

    gort.run(main)


def test_readers_of_one_conn_take_turns_and_close_wakes_them_all() -> None:
    """Go: fdMutex. Each reader tries the call in its turn; none waits for a lost edge."""

    def main() -> tuple[list[bytes], list[str], str]:
        c, s = conn_pair()
        got: list[bytes] = []
        errs: list[str] = []
        done: gort.Chan[None] = gort.Chan(6)

        def reader() -> None:
            try:
                got.append(c.read(1))
            except net.ErrClosed:
                errs.append("closed")
            done.send(None)

        for _ in range(6):
            gort.go(reader)
        gort.sleep(0.01)
        dump = gort.stack()
        s.write(b"ab")  # one edge, two bytes: two readers must get one each
        gort.sleep(0.05)
        s.write(b"c")
        gort.sleep(0.05)
        c.close()
        for _ in range(6):
            done.recv()
        s.close()
        return sorted(got), errs, dump

    got, errs, dump = gort.run(main)
    assert got == [b"a", b"b", b"c"]
    assert errs == ["closed"] * 3
    assert dump.count("[IO wait]") == 1 and dump.count("[semacquire]") == 5, dump


def test_several_goroutines_accepting_on_one_listener() -> None:
    def main() -> int:
        ln = net.listen("tcp", "127.0.0.1:0")
        conns: gort.Chan[net.Conn] = gort.Chan(10)
        for _ in range(3):
            gort.go(lambda: [conns.send(ln.accept()) for _ in range(2)])
        gort.sleep(0.01)
        clients = [net.dial("tcp", str(ln.addr)) for _ in range(6)]
        accepted = [conns.recv() for _ in range(6)]
        for x in clients + accepted:
            assert x is not None
            x.close()
        ln.close()
        return len(accepted)

    assert gort.run(main) == 6


def _read_until_closed(conn: net.Conn) -> None:
    try:
        conn.read(1)
    except net.ErrClosed:
        pass


def test_idle_connections_cost_no_wakeups() -> None:
    """200 connections idle, every goroutine in IO wait: the M sleeps, sysmon sleeps."""

    def main() -> tuple[int, float]:
        ln = net.listen("tcp", "127.0.0.1:0")
        pairs = []
        for _ in range(200):
            got: gort.Chan[net.Conn] = gort.Chan(1)
            gort.go(lambda ch=got: ch.send(ln.accept()))
            c = net.dial("tcp", str(ln.addr))
            s = got.recv()
            assert s is not None
            pairs.append((c, s))
            # The closes below end these reads (ErrClosed) if main is preempted among
            # them, which a request landing in gort.net's code now does (B4's hook).
            gort.go(_read_until_closed, s)
        _late_client(ln.addr.port, 0.5, b"x")
        last = ln.accept()
        gort.sleep(0)
        before = gort.stats()["sysmon_wakeups"]
        cpu0 = time.process_time()
        assert last.read(1) == b"x"  # everything idle for 0.5 s
        cpu = time.process_time() - cpu0
        wakeups = gort.stats()["sysmon_wakeups"] - before
        for c, s in pairs:
            c.close()
            s.close()
        last.close()
        ln.close()
        return wakeups, cpu

    wakeups, cpu = gort.run(main)
    assert wakeups <= 3, wakeups
    assert cpu < 0.1, cpu


def test_netpoll_brk_wakes_a_blocking_poll_and_a_nonblocking_poll_leaves_it() -> None:
    np = Netpoll()
    try:
        np.brk()
        np.brk()  # coalesced: one write
        assert np.poll(0) == []
        assert np.wakeup_pending  # a look does not eat the wake-up meant for a sleep
        t0 = time.monotonic()
        assert np.poll(5) == []
        assert time.monotonic() - t0 < 1
        assert not np.wakeup_pending
        t0 = time.monotonic()
        np.poll(0.02)  # drained: this one sleeps its delay
        assert time.monotonic() - t0 >= 0.015
    finally:
        np.close()
    np.brk()  # after close: ignored, not a write to a closed descriptor


def test_signal_pipe_still_wakes_the_idle_m() -> None:
    """CPython's wake-up fd is the netpoller's pipe: a signal ends the idle wait."""
    prog = """
import os, signal, threading, time
import gort

got = []
signal.signal(signal.SIGUSR1, lambda *a: got.append(time.monotonic()))

def main():
    t0 = time.monotonic()
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    gort.sleep(1.5)  # the M sleeps in epoll_wait; the handler must run at 0.2 s, not 1.5
    print("woke", len(got), got[0] - t0 < 1.0)

gort.run(main)
"""
    p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "woke 1 True", p.stdout


def test_light_requests_are_served_while_a_handler_computes() -> None:
    """The issue's case: one handler spins 2 s; the light connections' p99 stays low.

    Expected about 20-35 ms (every Python event loop: 2 000 ms). The bound is
    200 ms in one of three runs: on a machine loaded by other work (load 5 on two
    CPUs gave 226-328 ms) a run can lose its CPU for longer; a scheduler that stops
    serving fails all three.
    """
    outs = []
    for _ in range(3):
        r = run_testprog("net_compute.py", timeout=60)
        assert r.returncode == 0, r.stderr + r.stdout
        fields = dict(line.split("=", 1) for line in r.stdout.split() if "=" in line)
        assert fields["spin_done"] == "True", r.stdout
        assert int(fields["light_during_spin"]) >= 50, r.stdout
        outs.append(r.stdout)
        if float(fields["p99_ms"]) < 200:
            return
    raise AssertionError(f"p99 of light requests >= 200 ms in all three runs: {outs}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_child_gets_its_own_poller_and_keeps_its_sockets() -> None:
    r = run_testprog("net_fork.py", timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    assert r.stdout.split() == ["child", "pre", "echo:child", "parent", "echo:parent",
                                "status", "0"], r.stdout


def test_a_conn_dropped_unclosed_does_not_block_its_descriptor_number() -> None:
    import gc
    import warnings

    def main() -> bytes:
        c, s = conn_pair()
        fd = c.fileno()
        old_pd = c._fd.pd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # the unclosed socket
            del c
            gc.collect()
        c2, s2 = conn_pair()  # one of these gets fd's number back
        sched = rt.current_sched()
        assert old_pd.closing and sched.netpoll.pds.get(fd) is not old_pd
        s2.write(b"ok")
        d = c2.read(2)
        for x in (c2, s2, s):
            x.close()
        return d

    assert gort.run(main) == b"ok"


def test_several_ps_poll_before_stealing() -> None:
    """With more than one P, find_runnable looks at the network before it steals."""
    from .helpers import echo_server

    def main() -> int:
        gort.gomaxprocs(4)
        ln = echo_server()
        done: gort.Chan[int] = gort.Chan(20)

        def client(i: int) -> None:
            n = 0
            with net.dial("tcp", str(ln.addr)) as c:
                for r in range(20):
                    msg = b"%d-%d" % (i, r)
                    c.write(msg)
                    got = b""
                    while len(got) < len(msg):
                        got += c.read(100)
                    n += got == msg
            done.send(n)

        for i in range(20):
            gort.go(client, i)
        total = sum(done.recv() or 0 for _ in range(20))
        ln.close()
        return total

    assert gort.run(main) == 400


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_child_uses_conns_whose_turns_were_held_by_goroutines_left_behind() -> None:
    r = run_testprog("net_fork_parked.py", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["child read fromchild", "child accept True",
                                     "child status 0", "parent read toparent"], r.stdout


def test_next_run_gets_errclosed_not_a_wait_for_an_abandoned_turn() -> None:
    keep: dict[str, Any] = {}

    def first() -> None:
        ln = keep["ln"] = net.listen("tcp", "127.0.0.1:0")
        c = keep["c"] = net.dial("tcp", str(ln.addr))
        s = keep["s"] = ln.accept()
        gort.go(ln.accept)  # both abandoned at the end of the run, holding the turns
        gort.go(s.read, 10)
        gort.go(s.read, 10)  # a second reader waits for the first's turn
        assert c is not None
        gort.sleep(0.02)

    def second() -> list[str]:
        out = []
        for op in (keep["ln"].accept, lambda: keep["s"].read(10)):
            try:
                op()
            except net.ErrClosed as e:
                out.append(str(e).rsplit(": ", 1)[1])
        return out

    gort.run(first)
    assert gort.run(second) == ["use of closed network connection"] * 2
    for k in ("c", "s", "ln"):
        keep[k].close()


def test_a_goroutine_readied_then_closed_on_never_touches_the_reused_number() -> None:
    # Two readers parked on two pipes, both readied by one poll; the first to run closes
    # the other's File and makes a pipe that takes the freed number. The second must
    # get ErrClosed: it read the new pipe's bytes (and a writer wrote into a new file).
    def main() -> list[Any]:
        gort.gomaxprocs(1)
        ra, wa = gos.pipe()
        rb, wb = gos.pipe()
        out: list[Any] = []
        fds: list[int] = []

        def closer() -> None:
            ra.read(10)
            old = rb.fileno()
            rb.close()
            r, w = os.pipe()  # the lowest free numbers: rb's
            os.write(w, b"SECRET")
            fds.extend((old, r, w))

        def reader() -> None:
            try:
                out.append(("data", rb.read(100)))
            except gos.ErrClosed:
                out.append("ErrClosed")

        gort.go(closer)
        gort.go(reader)
        gort.sleep(0.01)
        wa.write(b"a")
        wb.write(b"b")
        time.sleep(0.005)  # both edges come in one poll
        gort.sleep(0.05)
        for fd in fds[1:]:
            os.close(fd)
        wa.close()
        wb.close()
        ra.close()
        return [fds[0] == fds[1], out]

    reused, out = gort.run(main)
    assert out in (["ErrClosed"], [("data", b"b")]), out
    assert reused or out == [("data", b"b")]


def test_an_accept_readied_then_closed_on_raises_errclosed() -> None:
    # Graceful shutdown: the shutdown goroutine and a new connection readied by one poll;
    # shutdown closes the listener first: accept raised EBADF, not net.ErrClosed.
    def main() -> list[str]:
        gort.gomaxprocs(1)
        ctl_ln = net.listen("tcp", "127.0.0.1:0")
        ln = net.listen("tcp", "127.0.0.1:0")
        rc = socket.socket()
        rc.setblocking(False)
        rc.connect_ex(("127.0.0.1", ctl_ln.addr.port))
        ctl = ctl_ln.accept()
        out: list[str] = []

        def shutdown() -> None:
            ctl.read(10)
            ln.close()

        def server() -> None:
            try:
                while True:
                    ln.accept().close()
                    out.append("accepted")
            except net.ErrClosed:
                out.append("ErrClosed")
            except OSError as e:
                out.append(f"{type(e).__name__}: {e}")

        gort.go(shutdown)
        gort.go(server)
        gort.sleep(0.01)
        rc.send(b"stop")
        cl = socket.socket()
        cl.setblocking(False)
        cl.connect_ex(("127.0.0.1", ln.addr.port))
        time.sleep(0.005)
        gort.sleep(0.05)
        for s in (rc, cl):
            s.close()
        ctl.close()
        ctl_ln.close()
        return out

    out = gort.run(main)
    assert out in (["ErrClosed"], ["accepted", "ErrClosed"]), out


@pytest.mark.parametrize("how", ["tcp-urgent", "unix-scm-rights", "packet-pipe", "unix-dgram"])
def test_a_read_cut_short_with_more_queued_does_not_park(how: str) -> None:
    # A short read meant "empty, park until the next edge"; the kernel also cuts reads at
    # TCP urgent data, at a unix message carrying descriptors, per write of a packet-mode
    # pipe and per datagram: the second read parked with "world" queued (to its deadline).
    def main() -> list[bytes]:
        closers: list[Any] = []
        reader: Any
        if how == "tcp-urgent":
            ln = net.listen("tcp", "127.0.0.1:0")
            peer = socket.create_connection(("127.0.0.1", ln.addr.port))
            reader = ln.accept()
            closers += [ln, peer, reader]

            def feed() -> None:
                peer.send(b"hello")
                peer.send(b"!", socket.MSG_OOB)
                peer.send(b"world")
        elif how == "unix-scm-rights":
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            a.setblocking(False)
            reader = gos.new_file(a.detach(), "unix")
            r, w = os.pipe()
            closers += [b, reader]

            def feed() -> None:
                b.sendmsg([b"hello"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                        array.array("i", [r]))])
                b.send(b"world")
                os.close(r)
                os.close(w)
        elif how == "packet-pipe":
            r, w = os.pipe2(os.O_DIRECT | os.O_NONBLOCK)
            reader = gos.new_file(r, "|direct")
            closers.append(reader)

            def feed() -> None:
                os.write(w, b"hello")
                os.write(w, b"world")
                os.close(w)
        else:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            a.setblocking(False)
            reader = gos.new_file(a.detach(), "dgram")
            closers += [b, reader]

            def feed() -> None:
                b.send(b"hello")
                b.send(b"world")

        def sender() -> None:
            gort.sleep(0.05)  # the reader is parked by then
            feed()
            time.sleep(0.01)  # all of it before the next poll

        gort.go(sender)
        got = []
        for _ in range(2):
            reader.set_read_deadline(time.monotonic() + 10)
            got.append(reader.read(100))
        for c in closers:
            c.close()
        return got

    assert gort.run(main) == [b"hello", b"world"]
