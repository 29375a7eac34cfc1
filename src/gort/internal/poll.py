"""A socket whose blocking calls park the goroutine, not the thread (Go: internal/poll FD).

``FD`` owns a non-blocking ``socket.socket`` registered with the run's
netpoller (runtime/netpoll.py). Every call first tries the system call;
EAGAIN parks the goroutine in IO wait (runtime/poll_runtime.py) until the
socket is ready, its deadline passes or it is closed, then tries again. A
call that succeeds at once (data already buffered, room in the send buffer)
costs the system call and nothing else: no poller round trip, no switch.

Errors: ``ErrClosed`` once the FD is closed (also for a goroutine that was
parked on it when it closed); ``TimeoutError("i/o timeout")`` once a
deadline passed; the socket's own OSError otherwise. gort.net adds the
operation and the addresses to the message (Go: net.OpError).

Ownership (Go: fdMutex). A read and a write may be in progress at once, in
two goroutines; two reads (or two writes, or two accepts on one listener)
take turns: the first runs its loop (try, park on EAGAIN, retry), the others
wait in FIFO order ("semacquire") and get the turn handed over when it is
done, so each of them tries the system call itself before it waits for an
edge. That matters with edge-triggered polling: goroutines woken together
by one edge, one of which takes the data, would otherwise park again with no
edge to come for what is left (two connections queued, two accepters). The
uncontended cost is a flag test and set per call. Closing wakes the
goroutine whose turn it is; it raises ErrClosed and hands the turn on, and
each next one sees the FD closing and raises too. With one M running every
goroutine, no goroutine is ever inside a system call on the FD while it
closes, which is what Go's reference counts are for.

Layering: above gort.runtime (it parks), below gort.net.
"""

from __future__ import annotations

import errno
import operator
import os
import socket
import ssl
import sys
import time
import weakref
from typing import Any, Final

from ..runtime import Backoff, Sema, WaitReason, getg, on_m, time_sleep
from ..runtime.netpoll import READ, WRITE
from ..runtime.poll_runtime import (
    POLL_ERR_CLOSING,
    POLL_ERR_TIMEOUT,
    POLL_OK,
    poll_close,
    poll_open,
    poll_reset,
    poll_set_deadline,
    poll_unblock,
    poll_wait,
)

_SEMACQUIRE: Final = WaitReason.SEMACQUIRE
_MAXSIZE: Final = sys.maxsize  # recv raises OverflowError above
_SSL_RETRY_S: Final = 0.001  # a TLS write waiting for a reader's progress (renegotiation)
SENDTO_PAUSE_S: Final = 0.001
"""The first pause of an AF_UNIX datagram send to a full receiver (FD._retry), seconds."""
SENDTO_PAUSE_MAX_S: Final = 0.004
"""Its longest pause (the doubling stops there), seconds."""
_WantRead = ssl.SSLWantReadError
_WantWrite = ssl.SSLWantWriteError


class ErrClosed(OSError):
    """An operation on a closed connection or listener (Go: net.ErrClosed, poll.ErrNetClosing)."""


def poll_error(code: int) -> OSError:
    """The exception for a poll_wait/poll_reset result (not POLL_OK)."""
    if code == POLL_ERR_CLOSING:
        return ErrClosed("use of closed network connection")
    return TimeoutError("i/o timeout")


_YEAR: Final = 366 * 86400.0


def deadline_ns(t: float | None) -> int:
    """A deadline (absolute ``time.monotonic()`` seconds, or None) in the poller's ns (0: none)."""
    if t is None:
        return 0
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise TypeError(f"gort.net: a deadline is an absolute time.monotonic() value in "
                        f"seconds, or None for none; got {t!r}")
    if t != t:
        raise ValueError("gort.net: a deadline of NaN; pass a time.monotonic() value or None")
    if t > 1e9 and abs(t - time.time()) < _YEAR:  # monotonic() is uptime: not 31 years
        raise ValueError(f"gort.net: the deadline {t!r} looks like a time.time() value; a "
                         f"deadline is an absolute time.monotonic() value (time.monotonic() + "
                         f"seconds), or None for none")
    if t <= 0:
        return 1  # in the past (even -inf)
    return max(1, int(t * 1e9)) if t < 9e9 else (1 << 63) - 1


def connect_done(sock: Any, addr: Any) -> None:
    """After an asynchronous connect finished (its result read from SO_ERROR): leave
    the socket as the kernel's blocking connect does. Linux keeps it "connecting"
    (SS_CONNECTING) until a connect call looks: the next connect then succeeded where
    the stdlib's blocking socket raises EISCONN, or, after a failure, failed with
    ECONNABORTED where the stdlib's gets a fresh attempt. One more connect, which
    cannot start one now, answers 0 (connected) or ECONNABORTED and moves it to
    connected or unconnected. (The stdlib's socket with a timeout connects
    asynchronously too, and is left connecting, as gort's with one.)"""
    if sock.type == socket.SOCK_STREAM:
        sock.connect_ex(addr)


_INET: Final = (socket.AF_INET, socket.AF_INET6)


def _drains(sock: Any) -> bool:
    """A read of sock that returns less than it asked for leaves it empty: TCP (whose
    reads the kernel also cuts at urgent data, which the netpoller reports as EPOLLPRI
    and marks ``hup``: recv then tries before it parks), or what says so (gort.os's
    files). Not a datagram (one per read), a unix stream socket (a read ends at a
    message carrying descriptors or credentials, more queued), a pipe (in packet mode,
    one write per read)."""
    drains = getattr(sock, "drains", None)
    if drains is not None:
        return bool(drains)
    return sock.type == socket.SOCK_STREAM and getattr(sock, "family", None) in _INET


def is_unix_dgram(sock: Any) -> bool:
    """sock is an AF_UNIX datagram socket (FD._retry's writes back off on it)."""
    return sock.type == socket.SOCK_DGRAM and getattr(sock, "family", None) == socket.AF_UNIX


def _pause(pd: Any, mode: int, backoff: Backoff) -> int:
    """Sleep backoff's next pause, cut at mode's deadline; then poll_wait's answer
    without the edge: POLL_ERR_CLOSING, POLL_ERR_TIMEOUT (the deadline passed), or
    POLL_OK (try again). A close during the pause is seen when it ends (at most
    SENDTO_PAUSE_MAX_S later)."""
    dl = pd.dl[mode]
    limit = None
    if dl > 0:
        left = dl - time.monotonic_ns()
        if left <= 0:
            return POLL_ERR_TIMEOUT
        limit = left / 1e9
    backoff.sleep(limit)
    if pd.closing:
        return POLL_ERR_CLOSING
    dl = pd.dl[mode]
    if dl < 0 or 0 < dl <= time.monotonic_ns():
        return POLL_ERR_TIMEOUT
    return POLL_OK


class FD:
    """A non-blocking socket registered with the netpoller (Go: internal/poll.FD)."""

    __slots__ = ("__weakref__", "closed", "drained", "forks", "pd", "rbusy", "rturn", "sock",
                 "stream", "unix_dgram", "unlink", "wbusy", "wturn")

    def __init__(self, sock: socket.socket, run_owned: bool = False) -> None:
        """``run_owned``: the socket is closed when the run ends (gort.net's: no later
        run can use it; netpoll.Netpoll.close). Otherwise (gort.socket's, which a
        later run registers again) it stays open."""
        sock.setblocking(False)
        self.sock = sock
        self.closed = False
        # The last read took less than it asked for: the socket was empty then, and
        # every byte that arrives after it comes with an edge (see recv). Only where a
        # short read means empty (_drains).
        self.stream = _drains(sock)
        self.drained = False
        # An AF_UNIX datagram socket: a write that got EAGAIN although the poller had
        # just called the socket writable backs off on a timer (see _retry).
        self.unix_dgram = is_unix_dgram(sock)
        # A unix listener's socket file, removed when the FD closes (or its run ends) in
        # the process that made it: (path, pid); a forked child's close leaves it.
        self.unlink: tuple[str, int] | None = None
        # One goroutine at a time per direction (see the module essay): busy while a
        # call runs its loop; the others wait their turn on the Sema (made on need).
        self.rbusy = False
        self.wbusy = False
        self.rturn: Sema | None = None
        self.wturn: Sema | None = None
        self.pd = poll_open(sock.fileno())
        self.forks = self.pd.forks
        if run_owned:
            self.pd.owner = weakref.ref(self)

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- turns (Go: fdMutex.rwlock / rwunlock) -----------------------------------------

    def _rlock(self) -> None:
        if not self.rbusy:
            self.rbusy = True
            return
        self._rwait()

    def _rwait(self) -> None:
        """Wait for the read turn; it is handed over (rbusy stays True)."""
        if self._turns_left_behind():
            self.rbusy = True
            return
        if self.rturn is None:
            self.rturn = Sema()
        self.rturn.acquire(getg(), _SEMACQUIRE)

    def _turns_left_behind(self) -> bool:
        """Before waiting for a turn whose holder may never run again. Closed: ErrClosed
        at once (Go's fdMutex refuses once closing); every FD is closed at the end of a
        run, whose abandoned goroutines keep their turns: the next run's caller waited
        forever. A forked child: the holders stayed in the parent; the turns are reset
        and True (the caller takes its turn)."""
        pd = self.pd
        if pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        if pd.forks == self.forks:
            return False
        self.forks = pd.forks
        self.rbusy = self.wbusy = False
        self.rturn = self.wturn = None
        return True

    def _runlock(self) -> None:
        t = self.rturn
        if t is not None and t.waiters:
            t.release_one()  # hand the turn to the longest waiter
        else:
            self.rbusy = False

    def _wlock(self) -> None:
        if not self.wbusy:
            self.wbusy = True
            return
        self._wwait()

    def _wwait(self) -> None:
        """Wait for the write turn; it is handed over (wbusy stays True)."""
        if self._turns_left_behind():
            self.wbusy = True
            return
        if self.wturn is None:
            self.wturn = Sema()
        self.wturn.acquire(getg(), _SEMACQUIRE)

    def _wunlock(self) -> None:
        t = self.wturn
        if t is not None and t.waiters:
            t.release_one()
        else:
            self.wbusy = False

    # -- reading -------------------------------------------------------------------

    def recv(self, n: int) -> bytes:
        """Up to n bytes; b"" at EOF (Go: FD.Read).

        A stream socket that the last read emptied (it returned less than it asked
        for), with no edge since, has nothing to read: the kernel announces every
        arrival after that read with an edge. The goroutine then parks at once
        instead of paying a recv that fails with EAGAIN (an exception: about 1 us,
        a tenth of an echo round trip's server CPU). Go always tries the read.
        """
        # The turn and poll_reset inlined: this and send_all are every round trip's path.
        if self.rbusy:
            self._rwait()
        else:
            self.rbusy = True
        try:
            pd = self.pd
            if pd.closing or pd.dl[READ] < 0:
                raise poll_error(poll_reset(pd, READ))
            if self.drained and not pd.ready[READ] and not pd.hup:
                if n.__class__ is not int or not 0 < n <= _MAXSIZE:
                    # b"" at once for 0 (Go's zero-length Read); the socket's error for
                    # a bad size, rather than after a wait for data
                    n = operator.index(n)
                    if not 0 < n <= _MAXSIZE:
                        return self.sock.recv(n)
                err = poll_wait(pd, READ)
                if err:
                    raise poll_error(err)
            else:
                pd.ready[READ] = False
            recv = self.sock.recv
            while True:
                try:
                    data = recv(n)
                except BlockingIOError:
                    err = poll_wait(pd, READ)
                    if err:
                        raise poll_error(err) from None
                    continue
                self.drained = self.stream and 0 < len(data) < n
                return data
        finally:
            t = self.rturn
            if t is not None and t.waiters:
                t.release_one()  # hand the turn to the longest waiter
            else:
                self.rbusy = False

    def recv_into(self, buf: Any) -> int:
        """Read into buf; the number of bytes (0 at EOF). Parks at once as recv does."""
        if self.rbusy:
            self._rwait()
        else:
            self.rbusy = True
        try:
            pd = self.pd
            if pd.closing or pd.dl[READ] < 0:
                raise poll_error(poll_reset(pd, READ))
            if self.drained and not pd.ready[READ] and not pd.hup:
                if not len(buf) or memoryview(buf).readonly:
                    # 0 at once for an empty buffer; the socket's TypeError for a
                    # read-only one, rather than after a wait for data
                    return self.sock.recv_into(buf)
                err = poll_wait(pd, READ)
                if err:
                    raise poll_error(err)
            else:
                pd.ready[READ] = False
            recv_into = self.sock.recv_into
            while True:
                try:
                    k = recv_into(buf)
                except BlockingIOError:
                    err = poll_wait(pd, READ)
                    if err:
                        raise poll_error(err) from None
                    continue
                # len() counts elements, at least as many bytes: k < len(buf) is short.
                self.drained = self.stream and 0 < k < len(buf)
                return k
        finally:
            t = self.rturn
            if t is not None and t.waiters:
                t.release_one()
            else:
                self.rbusy = False

    def recvfrom(self, n: int) -> tuple[bytes, Any]:
        """One datagram (up to n bytes) and its sender (Go: FD.ReadFrom)."""
        self._rlock()
        try:
            return self._retry(READ, self.sock.recvfrom, n)  # type: ignore[no-any-return]
        finally:
            self._runlock()

    def _retry(self, mode: int, op: Any, *args: Any) -> Any:
        """op(*args) under the turn of mode the caller holds, parking on mode while it
        would block (Go: the EAGAIN loop of FD.ReadFrom/WriteTo)."""
        pd = self.pd
        err = poll_reset(pd, mode)
        if err:
            raise poll_error(err)
        woken = False
        backoff: Backoff | None = None
        while True:
            try:
                return op(*args)
            except BlockingIOError:
                pass
            if woken and mode == WRITE and self.unix_dgram:
                # The poller said writable, the send said EAGAIN: an unconnected AF_UNIX
                # datagram sender whose receiver's queue is full. Linux's unix_dgram_poll
                # looks at the queue of the connected peer only, and each failed send
                # frees its buffer, which wakes the poller again: waiting for writable
                # went round at once, for ever (a parked sender burnt its CPU). The
                # kernel's blocking sendto sleeps until the receiver reads; no event
                # says so, so look again after a pause (SENDTO_PAUSE_S doubling to
                # SENDTO_PAUSE_MAX_S), within the deadline.
                if backoff is None:
                    backoff = Backoff(SENDTO_PAUSE_S, SENDTO_PAUSE_MAX_S)
                err = _pause(pd, mode, backoff)
            else:
                err = poll_wait(pd, mode)
                woken = True
            if err:
                raise poll_error(err)

    def accept(self) -> tuple[socket.socket, Any]:
        """The next connection, non-blocking (Go: FD.Accept)."""
        self._rlock()
        try:
            pd = self.pd
            err = poll_reset(pd, READ)
            if err:
                raise poll_error(err)
            while True:
                try:
                    conn, addr = self.sock.accept()
                    return conn, addr
                except BlockingIOError:
                    pass
                except OSError as e:
                    # Go's accept retries this: the connection died before it was taken.
                    if e.errno != errno.ECONNABORTED:
                        raise
                    continue
                err = poll_wait(pd, READ)
                if err:
                    raise poll_error(err)
        finally:
            self._runlock()

    # -- writing -------------------------------------------------------------------

    def send_all(self, data: Any) -> int:
        """Write all of data, waiting for room as needed; return its length (Go: FD.Write)."""
        if self.wbusy:
            self._wwait()
        else:
            self.wbusy = True
        try:
            pd = self.pd
            if pd.closing or pd.dl[WRITE] < 0:
                raise poll_error(poll_reset(pd, WRITE))
            pd.ready[WRITE] = False
            send = self.sock.send
            wait = False
            if data.__class__ is bytes:
                # The common case sent in one call with no view made (a memoryview and
                # its cast per write: measured, 0.1 us of a 64-byte echo's round trip).
                total = len(data)
                try:
                    done = send(data)
                except BlockingIOError:
                    done = 0
                    wait = True
                if done >= total:
                    return total
                view = memoryview(data)
            else:
                view = memoryview(data).cast("B")
                total = len(view)
                done = 0
            while True:
                if wait:
                    err = poll_wait(pd, WRITE)
                    if err:
                        raise poll_error(err)
                try:
                    done += send(view[done:] if done else view)
                except BlockingIOError:
                    wait = True
                    continue
                if done >= total:
                    return total
                wait = False  # a partial write: the rest at once, as Go's loop
        finally:
            t = self.wturn
            if t is not None and t.waiters:
                t.release_one()
            else:
                self.wbusy = False

    def sendto(self, data: Any, addr: Any) -> int:
        """One datagram to addr (Go: FD.WriteTo)."""
        self._wlock()
        try:
            return self._retry(WRITE, self.sock.sendto, data, addr)  # type: ignore[no-any-return]
        finally:
            self._wunlock()

    def connect(self, addr: Any, blocking: bool = False, already: bool = True) -> None:
        """Connect, parking until done (Go: netFD.connect: EINPROGRESS, wait writable, SO_ERROR).

        ``blocking``: leave the socket as the kernel's blocking connect does
        (``connect_done``; gort.socket with no timeout). ``already``: EALREADY (a
        connect still in progress) waits for it, as Go and the kernel's blocking
        connect; False: it is the answer, as the stdlib's socket with a timeout,
        which waits for EINPROGRESS only. EAGAIN (an AF_UNIX listener's queue is
        full) is the answer, as Go's: no event says when the queue has room (waiting
        for writable, the socket was reported connected, unconnected)."""
        self._wlock()
        try:
            pd = self.pd
            err = poll_reset(pd, WRITE)
            if err:
                raise poll_error(err)
            code = self.sock.connect_ex(addr)
            while True:
                if code == 0 or code == errno.EISCONN:
                    return
                if code not in (errno.EINPROGRESS, errno.EINTR) and not (
                        already and code == errno.EALREADY):
                    raise OSError(code, os.strerror(code))
                err = poll_wait(pd, WRITE)
                if err:
                    raise poll_error(err)
                code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR):
                    continue
                if blocking:
                    connect_done(self.sock, addr)
                if code:
                    raise OSError(code, os.strerror(code))
                return
        finally:
            self._wunlock()

    # -- TLS on the descriptor (gort.tls, gort.socket.SSLSocket) ---------------------

    def run_ssl(self, fn: Any, mode: int | None, args: tuple[Any, ...],
                one_deadline: bool = False) -> Any:
        """fn(*args), an ``ssl.SSLSocket`` call on this non-blocking descriptor, until it
        stops wanting I/O; the caller holds mode's turn (None: both turns).

        ``SSLWantReadError`` parks on the read side, ``SSLWantWriteError`` on the
        write side. A read answering a key update takes the write turn (Go's order:
        in, then out); a write wanting to read (TLS 1.2 renegotiation, or the
        handshake of a socket written before its handshake) parks on the read side
        if no reader holds it, else looks again every millisecond (the reader's
        progress is its progress). Raises poll_error's exceptions.

        A wait on the other side has that side's deadline (Go's net.Conn, gort.tls);
        with ``one_deadline`` it has mode's instead, for the wait only (gort.socket:
        the call's timeout bounds the whole call; a write on an SSLSocket whose
        handshake had not run waited for the peer with no deadline at all).
        """
        pd = self.pd
        if pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        if mode is not None:
            if pd.dl[mode] < 0:
                raise poll_error(POLL_ERR_TIMEOUT)
            pd.ready[mode] = False
        while True:
            try:
                return fn(*args)
            except _WantRead:
                want = READ
            except _WantWrite:
                want = WRITE
            if mode is None or want == mode:
                err = poll_wait(pd, want)
            elif want == WRITE:  # a read answering a key update: take the write turn
                self._wlock()
                try:
                    err = self._ssl_wait_other(mode, WRITE, one_deadline)
                finally:
                    self._wunlock()
            elif not self.rbusy:  # a write wanting to read, no reader: wait for the edge
                self.rbusy = True
                try:
                    err = self._ssl_wait_other(mode, READ, one_deadline)
                finally:
                    self._runlock()
            else:  # the reader's progress is this write's: look again soon
                time_sleep(_SSL_RETRY_S)
                err = (POLL_ERR_CLOSING if pd.closing
                       else POLL_ERR_TIMEOUT if pd.dl[WRITE] < 0 else 0)
            if err:
                raise poll_error(err)

    def _ssl_wait_other(self, mode: int, other: int, one_deadline: bool) -> int:
        """run_ssl's wait on the other side (its turn held), under mode's deadline if
        one_deadline, the other side's own one restored after."""
        pd = self.pd
        if not one_deadline:
            return poll_wait(pd, other)
        saved = pd.dl[other]
        poll_set_deadline(pd, pd.dl[mode], (other,))
        try:
            return poll_wait(pd, other)
        finally:
            if not pd.closing:
                poll_set_deadline(pd, saved, (other,))

    # -- control -------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        if self.pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        self.sock.shutdown(how)

    @on_m  # timers and waiters are the M's: from another thread, done there (cgocall.py)
    def set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        """Set the deadline of the given modes (absolute monotonic seconds, or None)."""
        if self.pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        poll_set_deadline(self.pd, deadline_ns(t), modes)

    @on_m  # as set_deadline: the waiters are readied, and the poller told, on the M
    def release(self) -> None:
        """Wake every waiter (they raise ErrClosed) and unregister; the socket stays open
        (gort.socket's detach)."""
        if self.closed:
            return
        self.closed = True
        pd = self.pd
        if not pd.closing:
            poll_unblock(pd)
            poll_close(pd)

    def run_ended(self) -> None:
        """The run ended (netpoll.Netpoll.close; its poller is gone): close the socket.
        Its goroutines are abandoned, never to run again; the Conn raises ErrClosed."""
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass  # (closed behind gort's back)
        self._unlink()

    def close(self) -> None:
        """Wake every waiter (they raise ErrClosed), unregister, then close the socket."""
        if self.closed:
            return
        self.release()
        self.sock.close()
        self._unlink()

    def _unlink(self) -> None:
        if self.unlink is not None and self.unlink[1] == os.getpid():
            try:
                os.unlink(self.unlink[0])
            except OSError:
                pass  # removed already
        self.unlink = None


class Deadlines:
    """The three deadline setters of Go's net.Conn, net.PacketConn and os.File, over
    the class's own ``_set_deadline(t, modes)`` (its error wording and its checks).

    A deadline is an absolute ``time.monotonic()`` value in seconds, or None for
    none; one in the past makes blocked and later calls raise TimeoutError at
    once, and moving it while a goroutine is blocked takes effect at once.
    """

    __slots__ = ()

    def set_deadline(self, t: float | None) -> None:
        """Set the read and write deadlines (absolute time.monotonic() seconds, or None)."""
        self._set_deadline(t, (READ, WRITE))

    def set_read_deadline(self, t: float | None) -> None:
        """Set the read deadline (absolute time.monotonic() seconds, or None)."""
        self._set_deadline(t, (READ,))

    def set_write_deadline(self, t: float | None) -> None:
        """Set the write deadline (absolute time.monotonic() seconds, or None)."""
        self._set_deadline(t, (WRITE,))

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        raise NotImplementedError
