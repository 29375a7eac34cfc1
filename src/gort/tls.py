"""TLS connections for goroutines (Go: package crypto/tls), over Python's ``ssl``.

An ``ssl.SSLContext`` is the configuration (Go: tls.Config): certificates,
verification, ALPN, versions. ``dial`` and ``listen`` give TLS Conns;
``client`` and ``server`` wrap an existing ``gort.net.Conn``. A ``tls.Conn``
is a ``gort.net.Conn``: reads, writes, deadlines, ``makefile`` and errors
behave as on the connection below, and a goroutine waiting for the peer
parks in the netpoller ("IO wait") as on a plain socket.

The handshake runs on the first read or write, or when ``handshake()`` is
called (Go: Conn.Handshake), under the Conn's deadlines; it takes both the
read and the write turn (Go: handshakeMutex), so a read and a write started
together in two goroutines see one handshake. A failed handshake fails every
later call with the same error, as Go's does.

Two engines, one per kind of connection below:

- A socket (TCP, unix): ``ctx.wrap_socket(sock, do_handshake_on_connect=False)``
  on the non-blocking socket the netpoller already watches. OpenSSL reads
  and writes the descriptor itself; ``SSLWantReadError`` parks the goroutine
  on the descriptor's read side, ``SSLWantWriteError`` on its write side.
  Edge-triggered polling stays correct because a want-read means OpenSSL
  saw EAGAIN, so the next arrival brings an edge; a call is always tried
  before the goroutine parks. Rejected: a MemoryBIO on every Conn (one copy
  more each way and a Python loop per record; the issue measured 35.7 vs
  31.5 us of server CPU per TLS echo round trip).
- No descriptor (``net.pipe()``, any Conn whose ``fileno()`` is -1):
  ``ctx.wrap_bio`` with two ``ssl.MemoryBIO``; records are read from and
  written to the Conn below. Records go out through a writer goroutine and a
  small channel (a send buffer of ``_BIO_QUEUE`` flushes): OpenSSL writes
  unprompted (a TLS 1.3 server sends its session tickets after the
  handshake), and over a synchronous pipe two ends that both write before
  they read would wait for each other forever. Only those unprompted
  records (handshake flights, a key update's answer, alerts: a few hundred
  bytes each) wait in the queue unread; ``write`` returns once the writer
  has handed its records to the Conn below (an acknowledgement queued after
  them), so over ``net.pipe()`` it returns when the peer has read them, as
  Go's tls.Conn.Write over net.Pipe does, and a peer that never reads makes
  it wait (its write deadline ends the wait). The queue used to count
  flushes only: a write of any size to a peer that never read "succeeded".
  A failed send is raised by the write waiting for it and by every later
  one. ``close`` lets the writer deliver what is queued (a handshake's
  alert, close_notify) before it closes the Conn below, for at most 5 s
  (Go's bound for close_notify), unless a write is under way: then, as Go's
  Close, it closes the Conn below at once and the write raises ErrClosed.

After the handshake a write never needs to read and a read needs to write
only for a TLS 1.3 key update: it then takes the write turn (Go's order:
in, then out). A write that wants to read (TLS 1.2 renegotiation) parks on
the read side if no reader holds it; otherwise it retries every millisecond
(the reader's progress is its progress), within its deadline.

``close`` sends close_notify if the handshake is done and no write is in
progress, without waiting (Go waits up to 5 s), then closes the connection
below. ``close_write`` sends close_notify (Go: Conn.CloseWrite) and leaves
the descriptor open: the peer reads EOF, this end can still read. A peer
that closes without close_notify also reads as EOF (``ssl``'s
suppress_ragged_eofs; Go reports io.ErrUnexpectedEOF).

Errors: as gort.net's (TimeoutError "... i/o timeout", ErrClosed,
ConnectionResetError ...); TLS failures are the ``ssl.SSLError`` subclass
OpenSSL raised (``ssl.SSLCertVerificationError`` for a certificate that does
not verify), with the operation and addresses in the message
("handshake tcp 127.0.0.1:5000->127.0.0.1:443: [SSL: CERTIFICATE_VERIFY_FAILED] ...").
"""

from __future__ import annotations

import io
import ssl
from time import monotonic
from typing import Any, Final

from . import net
from . import runtime as _rt
from .internal.poll import FD
from .runtime.netpoll import READ, WRITE
from .sync.mutex import Mutex
from .time import sleep

__all__ = ["Conn", "Listener", "client", "dial", "listen", "server"]

_BIO_QUEUE: Final = 4  # records a pipe-backed Conn may have in flight before write waits
_BIO_READ: Final = 65536  # bytes asked of the Conn below per read
_CLOSE_WAIT_S: Final = 5.0  # Go's bound on sending close_notify in Close
_RETRY_S: Final = 0.001  # a write waiting for a reader's progress (renegotiation)

_STREAMS: Final = ("tcp", "tcp4", "tcp6", "unix")

_WantRead = ssl.SSLWantReadError


def _check_ctx(ctx: Any) -> None:
    if not isinstance(ctx, ssl.SSLContext):
        raise TypeError(f"gort.tls: the configuration is an ssl.SSLContext (e.g. "
                        f"ssl.create_default_context()), got {type(ctx).__name__}")


def _check_stream(op: str, network: str) -> None:
    if network not in _STREAMS:
        raise ValueError(f"gort.tls.{op}: network {network!r}: TLS runs over a stream; use "
                         f"one of {', '.join(_STREAMS)} (no DTLS)")


def _ssl_error(where: str, e: ssl.SSLError) -> ssl.SSLError:
    """e's class with where in front of its message; OpenSSL's attributes kept."""
    new = type(e)(e.errno, f"{where}: {e.strerror or e}")
    for a in ("library", "reason", "verify_code", "verify_message"):
        if hasattr(e, a):
            setattr(new, a, getattr(e, a))
    return new


class Conn(net.Conn):
    """A TLS connection (Go: tls.Conn), a ``gort.net.Conn`` with a handshake.

    Made by ``dial``, a ``Listener``'s ``accept``, ``client`` or ``server``.
    Reads and writes carry application data; the handshake happens on the
    first of them or in ``handshake()``.
    """

    __slots__ = ("_bio_err", "_bio_in", "_bio_out", "_conn", "_hs_done", "_hs_err", "_in",
                 "_out", "_queue", "_sent_close", "_side", "_ssl", "_wdone", "_werr")

    def __init__(self, conn: net.Conn, ctx: ssl.SSLContext, server_side: bool,
                 server_hostname: str | None) -> None:
        _check_ctx(ctx)
        if not isinstance(conn, net.Conn):
            raise TypeError(f"gort.tls: wraps a gort.net.Conn, got {type(conn).__name__}")
        if isinstance(conn, Conn):
            raise TypeError("gort.tls: this Conn is already a TLS Conn")
        if not server_side and server_hostname is None and ctx.check_hostname:
            raise ValueError("gort.tls.client: the context checks host names "
                             "(check_hostname=True): pass server_hostname, the name the "
                             "server's certificate must carry")
        super().__init__(conn._fd, conn._net, conn._laddr, conn._raddr)
        self._conn = conn
        self._side = "server" if server_side else "client"
        self._hs_done = False
        self._hs_err: BaseException | None = None
        self._sent_close = False
        # The error a write failed with: every later write raises it (Go: halfConn.err,
        # set by Conn.Write). OpenSSL cannot resume a write with other data (a retry must
        # pass the same buffer: "bad length"), and part of a record may have gone out.
        self._werr: BaseException | None = None
        self._bio_err: BaseException | None = None
        # Records for the writer goroutine, and acknowledgements it closes on the way
        # (_delivered).
        self._queue: _rt.Chan[bytes | _rt.Chan[None]] | None = None
        self._wdone: _rt.Chan[None] | None = None  # closed when the writer goroutine ends
        self._ssl: Any
        if conn.fileno() >= 0:
            fd = conn._fd
            assert isinstance(fd, FD)
            # wrap_socket detaches fd.sock: the SSLSocket owns the descriptor from now
            # on, and FD.close closes it.
            fd.sock = self._ssl = ctx.wrap_socket(
                fd.sock, server_side=server_side, do_handshake_on_connect=False,
                server_hostname=server_hostname)
            self._bio_in = self._bio_out = None
            self._in = self._out = None
        else:
            self._bio_in = ssl.MemoryBIO()
            self._bio_out = ssl.MemoryBIO()
            self._ssl = ctx.wrap_bio(self._bio_in, self._bio_out, server_side=server_side,
                                     server_hostname=server_hostname)
            self._in = Mutex()
            self._out = Mutex()

    # -- the public surface ---------------------------------------------------------

    def handshake(self) -> None:
        """Run the handshake now if it has not run (Go: Conn.Handshake); idempotent.

        Honours the Conn's deadlines (TimeoutError; a later call resumes the
        handshake where it stopped). Raises the ssl.SSLError subclass OpenSSL
        raised (ssl.SSLCertVerificationError for a certificate that does not
        verify), ErrClosed if closed; a failed handshake raises the same error
        again on every later call.
        """
        if self._hs_done:
            return
        self._lock_both()
        try:
            self._handshake_locked()
        finally:
            self._unlock_both()

    def _handshake_locked(self) -> None:
        if self._hs_err is not None:
            raise self._hs_err
        if self._hs_done:  # another goroutine ran it while this one waited its turn
            return
        try:
            self._run(self._ssl.do_handshake, None)
        except OSError as e:
            err = self._error("handshake", e)
            if not isinstance(err, net.ErrClosed | TimeoutError):
                self._hs_err = err
            raise err from None
        self._hs_done = True

    def read(self, n: int) -> bytes:
        """Up to n bytes of application data; b"" at EOF (Go: Conn.Read).

        read(0) returns b"" at once; a negative or non-integer n raises
        ValueError/TypeError, as gort.net.Conn.read.
        """
        if n.__class__ is not int or n <= 0:
            bad = net._size_error(net._where("read", self._net, self._laddr, self._raddr), n)
            if bad is not None:
                raise bad
            if n == 0:
                return b""
        if not self._hs_done:
            self.handshake()
        data: bytes = self._locked(READ, "read", self._sock_read if self._bio_in is None
                                   else self._bio_read, n)
        return data

    def read_into(self, buf: Any) -> int:
        """Read into a writable buffer; the number of bytes, 0 at EOF."""
        try:
            view = memoryview(buf).cast("B")
            if view.readonly:
                raise TypeError
        except TypeError:
            where = net._where("read", self._net, self._laddr, self._raddr)
            raise (net._buffer_error(where, buf) or TypeError(where)) from None
        if not self._hs_done:
            self.handshake()
        if len(view) == 0:
            return 0
        if self._bio_in is None:
            return self._locked(READ, "read", self._sock_read,  # type: ignore[no-any-return]
                                len(view), view)
        return self._locked(READ, "read", self._bio_read,  # type: ignore[no-any-return]
                            len(view), view)

    def write(self, data: Any) -> int:
        """Write all of data as application data; return its length (Go: Conn.Write).

        Over ``net.pipe()`` it returns once the peer has read the records (Go's
        net.Pipe is synchronous). A write that fails (TimeoutError past the
        write deadline, ErrClosed, a reset) leaves the Conn unusable for
        writing: every later write, and close_write, raise the same error
        (Go: the tls.Conn's permanent write error), since part of a record
        may have gone out; reads go on.
        """
        try:
            view = memoryview(data).cast("B")
        except TypeError:
            where = net._where("write", self._net, self._laddr, self._raddr)
            raise (net._data_error(where, data) or TypeError(where)) from None
        if not self._hs_done:
            self.handshake()
        if self._werr is not None:
            raise self._werr.with_traceback(None)
        if len(view) == 0:
            return 0
        try:
            self._locked(WRITE, "write", self._ssl.write, view)
        except OSError as e:
            self._werr = e
            raise
        return len(view)

    def close(self) -> None:
        """Send close_notify (if the handshake is done and no write is under way), close.

        Goroutines blocked on the Conn raise ErrClosed; closing twice is a no-op.
        """
        if self._fd.closed:
            return
        writing = self._busy(WRITE)
        if self._hs_done and not self._sent_close and not writing and self._werr is None:
            self._sent_close = True
            try:
                if self._bio_in is None:
                    self._ssl._sslobj.shutdown()  # one try: close_notify out, no wait
                else:
                    self._ssl.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass
            self._flush_nowait()
        q = self._queue
        if q is not None and self._wdone is not None:
            # Let the writer deliver what is queued (an alert, close_notify), within
            # Go's bound for close_notify; the pipe's write deadline ends a stuck write.
            if not q.closed:
                q.close()
            if not self._wdone.closed and not writing:
                # (A write under way: the close is meant to break it, as Go's Close,
                # which then closes the Conn below at once.)
                try:
                    self._conn.set_write_deadline(monotonic() + _CLOSE_WAIT_S)
                except OSError:
                    pass
                self._wdone.recv()
        self._conn.close()

    def close_write(self) -> None:
        """Send close_notify: the peer reads EOF; this end can still read (Go: CloseWrite).

        Raises ValueError before the handshake (Go: errEarlyCloseWrite).
        """
        if not self._hs_done:
            raise ValueError("gort.tls: close_write before the handshake completed")
        if self._werr is not None:
            raise self._werr.with_traceback(None)
        if self._sent_close:
            return
        self._sent_close = True
        self._locked(WRITE, "close", self._close_notify)

    def _close_notify(self) -> None:
        """Send close_notify, not waiting for the peer's (OpenSSL then wants to read)."""
        try:
            if self._bio_in is None:
                self._ssl._sslobj.shutdown()
            else:
                self._ssl.unwrap()
        except _WantRead:
            pass

    def close_read(self) -> None:
        raise io.UnsupportedOperation("gort.tls: a TLS Conn has no close_read (Go's has "
                                      "none); use close")

    def fileno(self) -> int:
        """The descriptor below (-1 once closed, or over a pipe)."""
        return self._conn.fileno()

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        self._conn._set_deadline(t, modes)

    @property
    def version(self) -> str | None:
        """The negotiated protocol ("TLSv1.3"), None before the handshake."""
        v: str | None = self._ssl.version() if self._hs_done else None
        return v

    @property
    def ssl_object(self) -> ssl.SSLSocket | ssl.SSLObject:
        """The ssl object (SSLSocket, or SSLObject over a pipe): getpeercert(),
        selected_alpn_protocol(), cipher() (Go: Conn.ConnectionState)."""
        return self._ssl  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else ""
        return (f"<gort.tls.Conn {self._side} {self._net} {self._laddr}->{self._raddr}"
                f"{state}>")

    def _error(self, op: str, e: OSError) -> BaseException:
        if self._bio_in is not None and not isinstance(e, ssl.SSLError):
            return e  # the pipe's own errors already say "read pipe: ..."
        if isinstance(e, ssl.SSLError):
            return _ssl_error(f"{op} {self._net} {self._laddr}->{self._raddr}", e)
        return net._op_error(op, self._net, self._laddr, self._raddr, e,
                             op if op in ("read", "write") else "")

    def _sock_read(self, n: int, buf: Any = None) -> Any:
        """SSLSocket.recv/recv_into, with close_notify as b"" / 0 also after our own: CPython
        returns b"" only while the shutdown state is exactly "received", and after
        close_write (our close_notify sent) it raised SSLZeroReturnError at EOF."""
        try:
            return self._ssl.recv(n) if buf is None else self._ssl.recv_into(buf, n)
        except ssl.SSLZeroReturnError:
            return b"" if buf is None else 0

    def _bio_read(self, n: int, buf: Any = None) -> Any:
        """SSLObject.read, with EOF (close_notify or not) as b"" / 0, as SSLSocket's."""
        try:
            return self._ssl.read(n) if buf is None else self._ssl.read(n, buf)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b"" if buf is None else 0

    # -- turns --------------------------------------------------------------------------

    def _busy(self, mode: int) -> bool:
        if self._bio_in is None:
            fd = self._fd
            assert isinstance(fd, FD)
            return fd.wbusy if mode == WRITE else fd.rbusy
        m = self._out if mode == WRITE else self._in
        assert m is not None
        return m.locked()

    def _lock(self, mode: int) -> None:
        if self._bio_in is None:
            fd = self._fd
            assert isinstance(fd, FD)
            fd._wlock() if mode == WRITE else fd._rlock()
        else:
            # A pipe of an ended run: its goroutines may hold these mutexes forever.
            if self._fd.closed:
                raise self._bio_closed()
            m = self._out if mode == WRITE else self._in
            assert m is not None
            m.lock()

    def _unlock(self, mode: int) -> None:
        if self._bio_in is None:
            fd = self._fd
            assert isinstance(fd, FD)
            fd._wunlock() if mode == WRITE else fd._runlock()
        else:
            m = self._out if mode == WRITE else self._in
            assert m is not None
            m.unlock()

    def _lock_both(self) -> None:
        self._lock(READ)
        try:
            self._lock(WRITE)
        except BaseException:
            self._unlock(READ)
            raise

    def _unlock_both(self) -> None:
        self._unlock(WRITE)
        self._unlock(READ)

    def _locked(self, mode: int, op: str, fn: Any, *args: Any) -> Any:
        self._lock(mode)
        try:
            return self._run(fn, mode, *args)
        except OSError as e:
            raise self._error(op, e) from None
        finally:
            self._unlock(mode)

    # -- the engines ----------------------------------------------------------------

    def _run(self, fn: Any, mode: int | None, *args: Any) -> Any:
        """fn(*args) until it stops wanting I/O; the caller holds mode's turn (None: both)."""
        if self._bio_in is None:
            return self._run_socket(fn, mode, args)
        return self._run_bio(fn, mode, args)

    def _run_socket(self, fn: Any, mode: int | None, args: tuple[Any, ...]) -> Any:
        fd = self._fd
        assert isinstance(fd, FD)
        return fd.run_ssl(fn, mode, args)

    def _bio_closed(self) -> net.ErrClosed:
        fd = self._fd
        if fd.closed is True and not getattr(fd, "_closed", True):
            return net.ErrClosed("use of closed network connection (a net.pipe() of a "
                                 "gort.run that has ended; make a new one in this run)")
        return net.ErrClosed("use of closed network connection")

    def _run_bio(self, fn: Any, mode: int | None, args: tuple[Any, ...]) -> Any:
        if self._fd.closed:
            raise self._bio_closed()
        while True:
            try:
                r = fn(*args)
            except _WantRead:
                self._flush(mode)
                self._fill(mode)
                continue
            except ssl.SSLError:
                self._flush(mode)  # the alert telling the peer why
                raise
            self._flush(mode)
            if mode == WRITE:
                self._delivered()
            return r

    def _fill(self, mode: int | None) -> None:
        """Read records from the Conn below into the incoming BIO (holding the read turn)."""
        assert self._bio_in is not None
        assert self._in is not None
        if mode == WRITE:  # renegotiation in a write: read if no reader does, else wait
            if not self._in.try_lock():
                sleep(_RETRY_S)
                return
            try:
                data = self._conn.read(_BIO_READ)
            finally:
                self._in.unlock()
        else:
            data = self._conn.read(_BIO_READ)
        if data:
            self._bio_in.write(data)
        else:
            self._bio_in.write_eof()

    def _flush(self, mode: int | None) -> None:
        """Queue what OpenSSL wrote for the writer goroutine (taking the write turn)."""
        out = self._bio_out
        assert out is not None
        assert self._out is not None
        if not out.pending:
            return
        if mode == READ:
            self._out.lock()
            try:
                self._queue_out(out.read())
            finally:
                self._out.unlock()
        else:
            self._queue_out(out.read())

    def _flush_nowait(self) -> None:
        out = self._bio_out
        if out is None or not out.pending or self._bio_err is not None:
            return
        data = out.read()
        try:
            self._queue_chan().try_send(data)  # best effort: close does not wait
        except _rt.ClosedChannelError:
            pass  # the writer stopped on an error: nothing more goes out

    def _queue_out(self, data: bytes | _rt.Chan[None]) -> None:
        if self._bio_err is not None:
            raise self._bio_err
        try:
            self._queue_chan().send(data)
        except _rt.ClosedChannelError:
            if self._bio_err is None:
                raise
            raise self._bio_err from None  # the writer stopped while this send waited

    def _delivered(self) -> None:
        """Wait until the writer goroutine has written everything queued so far to the
        Conn below (a write over a synchronous pipe returns once the peer has read it,
        as Go's does); raise the error it stopped on, if it did (the pipe's deadline)."""
        if self._queue is None:
            return
        ack: _rt.Chan[None] = _rt.Chan()
        self._queue_out(ack)
        wdone = self._wdone
        assert wdone is not None
        i, _ = _rt.selectgo((ack.recv, wdone.recv))
        if i == 1 and not ack.closed:
            assert self._bio_err is not None
            raise self._bio_err

    def _queue_chan(self) -> _rt.Chan[bytes | _rt.Chan[None]]:
        q = self._queue
        if q is None:
            q = self._queue = _rt.Chan(_BIO_QUEUE)
            self._wdone = _rt.Chan()
            s = _rt.running()
            assert s is not None
            _rt.newproc(s, self._writer, (q,), {}, _rt.getg())
        return q

    def _writer(self, q: _rt.Chan[bytes | _rt.Chan[None]]) -> None:
        """The pipe-backed Conn's sender: records from the queue to the Conn below."""
        try:
            for data in q:
                if isinstance(data, _rt.Chan):
                    data.close()  # a write waits for this (_delivered)
                    continue
                try:
                    self._conn.write(data)
                except OSError as e:
                    # Later writes raise e; one waiting for room in the full queue
                    # (nobody drains it now) gets it through the close: it waited forever.
                    self._bio_err = e
                    if not q.closed:  # (close() may have closed it already)
                        q.close()
                    return
        finally:
            assert self._wdone is not None
            self._wdone.close()


class Listener(net.Listener):
    """A TLS listener (Go: tls.NewListener): ``accept`` returns server-side TLS Conns.

    The handshake runs on the Conn's first read or write (or ``handshake()``),
    in the goroutine that handles it, never in ``accept``.
    """

    __slots__ = ("_ctx",)

    def __init__(self, inner: net.Listener, ctx: ssl.SSLContext) -> None:
        _check_ctx(ctx)
        super().__init__(inner._fd, inner._net, inner._addr, None)  # the FD unlinks
        self._ctx = ctx

    def accept(self) -> Conn:
        """The next connection, as a TLS server Conn (handshake not yet run)."""
        c = super().accept()
        try:
            return Conn(c, self._ctx, True, None)
        except BaseException:
            c.close()
            raise

    def __repr__(self) -> str:
        return f"<gort.tls.Listener {self._net} {self._addr}{' closed' if self._fd.closed else ''}>"


def client(conn: net.Conn, ctx: ssl.SSLContext, server_hostname: str | None) -> Conn:
    """The client side of TLS over conn (Go: tls.Client); the handshake runs lazily.

    ``server_hostname``: the name to ask for (SNI) and to verify the
    certificate against; required when ``ctx.check_hostname`` is set
    (ValueError otherwise). conn belongs to the TLS Conn from now on.
    """
    return Conn(conn, ctx, False, server_hostname)


def server(conn: net.Conn, ctx: ssl.SSLContext) -> Conn:
    """The server side of TLS over conn (Go: tls.Server); ctx carries the certificate."""
    return Conn(conn, ctx, True, None)


def dial(network: str, address: str, ctx: ssl.SSLContext, server_hostname: str | None = None,
         timeout: float | None = None) -> Conn:
    """Connect and run the handshake (Go: tls.Dial / tls.DialWithDialer).

    ``server_hostname`` defaults to address's host (an IP address is checked
    against the certificate's IP entries). ``timeout`` (seconds) bounds the
    dial and the handshake together. Raises what net.dial raises, TimeoutError,
    or the handshake's ssl.SSLError (ssl.SSLCertVerificationError for a
    certificate that does not verify); the connection is closed then.
    """
    _check_ctx(ctx)
    _check_stream("dial", network)
    if timeout is not None and (isinstance(timeout, bool)
                                or not isinstance(timeout, int | float)):
        raise TypeError(f"gort.tls.dial: timeout is a number of seconds or None, "
                        f"got {timeout!r}")
    deadline = None if timeout is None else monotonic() + max(timeout, 0.0)
    if server_hostname is None and network != "unix":
        server_hostname = net._host_port("dial", network, address)[0] or None
    c = net.Dialer(deadline=deadline).dial(network, address)
    try:
        tc = client(c, ctx, server_hostname)
        if deadline is not None:
            tc.set_deadline(deadline)
        tc.handshake()
        if deadline is not None:
            tc.set_deadline(None)
    except BaseException:
        c.close()
        raise
    return tc


def listen(network: str, address: str, ctx: ssl.SSLContext) -> Listener:
    """Listen on address (as net.listen); accepted Conns are TLS servers with ctx."""
    _check_ctx(ctx)
    _check_stream("listen", network)
    return Listener(net.listen(network, address), ctx)
