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

Ownership: one M runs every goroutine, so an FD needs no lock (Go's fdMutex
serialises threads): a read and a write may wait at once (one goroutine
each); two reads waiting at once are refused (Go serialises them; a stream
read by two goroutines at once is a bug anyway).

Layering: above gort.runtime (it parks), below gort.net.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any, Final

from ..runtime.netpoll import READ, WRITE
from ..runtime.poll_runtime import (
    POLL_ERR_CLOSING,
    poll_close,
    poll_open,
    poll_reset,
    poll_set_deadline,
    poll_unblock,
    poll_wait,
)

BOTH: Final = (READ, WRITE)


class ErrClosed(OSError):
    """An operation on a closed connection or listener (Go: net.ErrClosed, poll.ErrNetClosing)."""


def poll_error(code: int) -> OSError:
    """The exception for a poll_wait/poll_reset result (not POLL_OK)."""
    if code == POLL_ERR_CLOSING:
        return ErrClosed("use of closed network connection")
    return TimeoutError("i/o timeout")


def deadline_ns(t: float | None) -> int:
    """A deadline (absolute ``time.monotonic()`` seconds, or None) in the poller's ns (0: none)."""
    if t is None:
        return 0
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise TypeError(f"gort.net: a deadline is an absolute time.monotonic() value in "
                        f"seconds, or None for none; got {t!r}")
    if t != t:
        raise ValueError("gort.net: a deadline of NaN; pass a time.monotonic() value or None")
    return max(1, int(t * 1e9)) if t < 9e9 else (1 << 63) - 1


class FD:
    """A non-blocking socket registered with the netpoller (Go: internal/poll.FD)."""

    __slots__ = ("closed", "pd", "sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.closed = False
        self.pd = poll_open(sock.fileno())

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- reading -------------------------------------------------------------------

    def recv(self, n: int) -> bytes:
        """Up to n bytes; b"" at EOF (Go: FD.Read)."""
        pd = self.pd
        err = poll_reset(pd, READ)
        if err:
            raise poll_error(err)
        recv = self.sock.recv
        while True:
            try:
                return recv(n)
            except BlockingIOError:
                pass
            err = poll_wait(pd, READ)
            if err:
                raise poll_error(err)

    def recv_into(self, buf: Any) -> int:
        """Read into buf; the number of bytes (0 at EOF)."""
        pd = self.pd
        err = poll_reset(pd, READ)
        if err:
            raise poll_error(err)
        recv_into = self.sock.recv_into
        while True:
            try:
                return recv_into(buf)
            except BlockingIOError:
                pass
            err = poll_wait(pd, READ)
            if err:
                raise poll_error(err)

    def recvfrom(self, n: int) -> tuple[bytes, Any]:
        """One datagram (up to n bytes) and its sender (Go: FD.ReadFrom)."""
        pd = self.pd
        err = poll_reset(pd, READ)
        if err:
            raise poll_error(err)
        while True:
            try:
                return self.sock.recvfrom(n)
            except BlockingIOError:
                pass
            err = poll_wait(pd, READ)
            if err:
                raise poll_error(err)

    def accept(self) -> tuple[socket.socket, Any]:
        """The next connection, non-blocking (Go: FD.Accept)."""
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
                # Go's accept retries these: the connection died before it was taken.
                if e.errno != errno.ECONNABORTED:
                    raise
                continue
            err = poll_wait(pd, READ)
            if err:
                raise poll_error(err)

    # -- writing -------------------------------------------------------------------

    def send_all(self, data: Any) -> int:
        """Write all of data, waiting for room as needed; return its length (Go: FD.Write)."""
        pd = self.pd
        err = poll_reset(pd, WRITE)
        if err:
            raise poll_error(err)
        send = self.sock.send
        view = memoryview(data).cast("B")
        total = len(view)
        done = 0
        while True:
            try:
                done += send(view[done:] if done else view)
                if done >= total:
                    return total
                continue
            except BlockingIOError:
                pass
            err = poll_wait(pd, WRITE)
            if err:
                raise poll_error(err)

    def sendto(self, data: Any, addr: Any) -> int:
        """One datagram to addr (Go: FD.WriteTo)."""
        pd = self.pd
        err = poll_reset(pd, WRITE)
        if err:
            raise poll_error(err)
        while True:
            try:
                return self.sock.sendto(data, addr)
            except BlockingIOError:
                pass
            err = poll_wait(pd, WRITE)
            if err:
                raise poll_error(err)

    def connect(self, addr: Any) -> None:
        """Connect, parking until done (Go: netFD.connect: EINPROGRESS, wait writable, SO_ERROR)."""
        pd = self.pd
        err = poll_reset(pd, WRITE)
        if err:
            raise poll_error(err)
        code = self.sock.connect_ex(addr)
        while True:
            if code == 0 or code == errno.EISCONN:
                return
            if code not in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR, errno.EAGAIN):
                raise OSError(code, os.strerror(code))
            err = poll_wait(pd, WRITE)
            if err:
                raise poll_error(err)
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0:
                return
            if code in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR):
                continue
            raise OSError(code, os.strerror(code))

    # -- control -------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        if self.pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        self.sock.shutdown(how)

    def set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        """Set the deadline of the given modes (absolute monotonic seconds, or None)."""
        if self.pd.closing:
            raise poll_error(POLL_ERR_CLOSING)
        poll_set_deadline(self.pd, deadline_ns(t), modes)

    def close(self) -> None:
        """Wake every waiter (they raise ErrClosed), unregister, then close the socket."""
        if self.closed:
            return
        self.closed = True
        pd = self.pd
        if not pd.closing:
            poll_unblock(pd)
            poll_close(pd)
        self.sock.close()
