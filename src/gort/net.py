"""Network connections for goroutines (Go: package net), in Python's manners.

A goroutine blocked on a socket costs nothing: every blocking call tries the
system call on a non-blocking socket and, on EAGAIN, parks the goroutine in
the runtime's netpoller (runtime/netpoll.py, Go's wait reason "IO wait")
until the socket is ready. The other goroutines run meanwhile, and a
goroutine that computes for seconds does not stop the others from being
served: the scheduler preempts it (sysmon) and polls the network for them.

Shapes follow Go's ``net`` where Python has no better habit:

- ``dial(network, address, timeout=None)`` / ``Dialer`` -> ``Conn``;
  ``listen(network, address)`` -> ``Listener``; ``listen_packet`` ->
  ``PacketConn``; networks ``tcp``, ``tcp4``, ``tcp6``, ``unix``, ``udp``,
  ``udp4``, ``udp6``, ``unixgram``; addresses ``"host:port"``, ``"[v6]:port"``,
  a path for ``unix`` and ``unixgram`` (``@name``: Linux's abstract namespace).
- Dialing a name that resolves to IPv6 and IPv4 addresses over ``tcp`` races
  the two families as Go does ("happy eyeballs", RFC 6555): the first
  family's addresses first, the other's ``Dialer.fallback_delay`` (300 ms)
  later or as soon as the first fail; the first connection wins, the other
  is closed.
- ``Conn.read(n)`` returns bytes, ``b""`` at EOF (Go's io.EOF); ``write``
  writes everything or raises. Deadlines are absolute ``time.monotonic()``
  values (seconds), or None for none, as Go's are absolute times.
- Errors are Python's, with Go's operation and addresses in the message
  (Go: net.OpError): a deadline raises ``TimeoutError`` ("... i/o
  timeout"), a closed connection ``ErrClosed`` (an OSError), a reset
  ``ConnectionResetError``, a refusal ``ConnectionRefusedError``, a failed
  lookup ``socket.gaierror``; their ``errno`` is kept.
- Names are resolved on gort's offload threads, at most ``MAX_LOOKUPS`` at a
  time per run (Go bounds its cgo resolver alike); numeric addresses never
  leave the goroutine (no thread for ``127.0.0.1:80``), nor do names the
  hosts file answers as glibc would (``localhost``; gort.internal.hosts,
  Go's hosts.go).
- ``TCP_NODELAY`` is on for every TCP connection, as in Go.

TLS is gort.tls. Not here (yet): CloseRead on pipes, multicast, ``unixpacket``.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import operator
import os
import socket
import sys
from collections.abc import Callable
from time import monotonic
from types import TracebackType
from typing import IO, Any, Final, NamedTuple, TypeVar

from . import runtime as _rt
from .internal import hosts as _hosts
from .internal.poll import FD, Deadlines, ErrClosed, deadline_ns
from .runtime.netpoll import READ, WRITE
from .runtime.poll_runtime import poll_set_deadline
from .runtime.sched import Sched
from .runtime.threadlock import BufferedReader, BufferedRWPair, BufferedWriter
from .sync.mutex import Mutex
from .time import Timer

__all__ = [
    "Addr",
    "Conn",
    "Dialer",
    "ErrClosed",
    "Listener",
    "PacketConn",
    "dial",
    "join_host_port",
    "listen",
    "listen_packet",
    "lookup_host",
    "lookup_ip",
    "pipe",
    "split_host_port",
]

ErrClosed.__module__ = "gort.net"

T = TypeVar("T")

MAX_LOOKUPS: Final = 32
"""Name lookups in flight at once per run (more wait their turn; Go bounds cgo lookups alike)."""

DEFAULT_KEEP_ALIVE_S: Final = 15.0  # Go's default TCP keep-alive period
DEFAULT_FALLBACK_DELAY_S: Final = 0.3  # Go's default Dialer.FallbackDelay

_STREAM: Final = {"tcp": socket.AF_UNSPEC, "tcp4": socket.AF_INET, "tcp6": socket.AF_INET6}
_DGRAM: Final = {"udp": socket.AF_UNSPEC, "udp4": socket.AF_INET, "udp6": socket.AF_INET6}
_UNIX: Final = ("unix", "unixgram")
_NETWORKS: Final = "tcp, tcp4, tcp6, udp, udp4, udp6, unix, unixgram"


# ---------------------------------------------------------------------------
# Addresses


class Addr(NamedTuple):
    """A network endpoint (Go: net.Addr): ``str(addr)`` is ``"host:port"`` (a path for unix).

    ``host`` is an IP address (no brackets) or a unix socket path (``""`` for
    an unbound unixgram sender, which cannot be answered); ``port`` is 0 for
    unix and unixgram.
    """

    network: str
    host: str
    port: int

    def __str__(self) -> str:
        if self.network in _UNIX:
            return self.host
        return join_host_port(self.host, str(self.port))


def split_host_port(hostport: str) -> tuple[str, str]:
    """Split ``"host:port"``, ``"[v6]:port"`` or ``":port"`` (Go: net.SplitHostPort).

    Raises ValueError naming what is wrong (a missing port, too many colons).
    """
    if not isinstance(hostport, str):
        raise TypeError(f"gort.net: an address is a string \"host:port\", got {hostport!r}")
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise ValueError(f"address {hostport}: missing ']' in address")
        rest = hostport[close + 1:]
        if rest == "":
            raise ValueError(f"address {hostport}: missing port in address")
        if not rest.startswith(":"):
            raise ValueError(f"address {hostport}: unexpected text after ']' in address; "
                             "write [host]:port")
        host, port = hostport[1:close], rest[1:]
        if "[" in host or "]" in port or "[" in port:
            raise ValueError(f"address {hostport}: unexpected '[' or ']' in address")
        return host, port
    i = hostport.rfind(":")
    if i < 0:
        raise ValueError(f"address {hostport}: missing port in address")
    host, port = hostport[:i], hostport[i + 1:]
    if ":" in host:
        raise ValueError(f"address {hostport}: too many colons in address; write an IPv6 "
                         "address in brackets, e.g. [::1]:80")
    if "[" in hostport or "]" in hostport:
        raise ValueError(f"address {hostport}: unexpected '[' or ']' in address")
    return host, port


def join_host_port(host: str, port: str) -> str:
    """``"host:port"``, with brackets around an IPv6 host (Go: net.JoinHostPort)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _addr(network: str, sa: Any) -> Addr:
    network = network.rstrip("46")  # Go: a TCPAddr's network is "tcp", whatever was dialed
    if isinstance(sa, tuple):
        host = sa[0]
        if host.startswith("::ffff:") and "." in host:
            # An IPv4 peer of a dual-stack socket: Go prints the IPv4 address (IP.String).
            host = host[7:]
        elif len(sa) == 4 and sa[3] and "%" not in host:
            host = f"{host}%{_zone(sa[3])}"  # a scoped IPv6 address: Go's IPAddr.Zone
        return Addr(network, host, int(sa[1]))
    if sa is None:  # an unbound unix socket (a unixgram sender)
        return Addr(network, "", 0)
    if isinstance(sa, bytes):
        sa = sa.decode("utf-8", "surrogateescape")
    if sa.startswith("\0"):
        sa = "@" + sa[1:]
    return Addr(network, sa, 0)


def _zone(scope_id: int) -> str:
    """An IPv6 scope id as Go prints it: the interface's name, else the number."""
    try:
        return socket.if_indextoname(scope_id)
    except OSError:
        return str(scope_id)


def _unix_path(address: str) -> str:
    if not isinstance(address, str):
        raise TypeError(f"a unix address is a socket path (a str), got {address!r}")
    if not address:
        raise ValueError("a unix address is a socket path, got ''")
    return "\0" + address[1:] if address.startswith("@") else address


def _port(network: str, port: str) -> int:
    if port.isdigit():
        n = int(port)
        if n > 65535:
            raise ValueError(f"address {port}: invalid port")
        return n
    if port == "":
        return 0
    try:
        return socket.getservbyname(port, "udp" if network in _DGRAM else "tcp")
    except OSError:
        raise socket.gaierror(socket.EAI_SERVICE,
                              f"lookup {network}/{port}: unknown port") from None


def _host_port(op: str, network: str, address: Any) -> tuple[str, int]:
    """split_host_port and the port's number, errors with Go's "op network: " in front
    ("dial tcp: address x: missing port in address")."""
    try:
        host, port = split_host_port(address)
        return host, _port(network, port)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{op} {network}: {str(e).removeprefix('gort.net: ')}") from None
    except socket.gaierror as e:
        raise socket.gaierror(e.errno, f"{op} {network}: {e.strerror}") from None


def _numeric(host: str) -> tuple[int, str] | None:
    """(family, host) for an IP literal, else None (a name to look up)."""
    try:
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET, host
    except OSError:
        pass
    try:
        socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
        return socket.AF_INET6, host
    except OSError:
        return None


# ---------------------------------------------------------------------------
# Name resolution


def _getaddrinfo(host: str, port: int, family: int, socktype: int,
                 deadline: int) -> list[tuple[int, Any]]:
    """(family, sockaddr) for host, in the resolver's order; ``deadline`` ns (0: none)."""
    if "\0" in host:  # getaddrinfo's ValueError, and no name has one (Go: no such host)
        raise socket.gaierror(socket.EAI_NONAME, f"lookup {host!r}: no such host")
    num = _numeric(host)
    if num is not None:
        fam, h = num
        if family not in (socket.AF_UNSPEC, fam):
            raise socket.gaierror(socket.EAI_ADDRFAMILY,
                                  f"address {host}: no suitable address")
        if fam == socket.AF_INET6:
            infos = socket.getaddrinfo(h, port, fam, socktype, 0, socket.AI_NUMERICHOST)
            return [(fam, infos[0][4])]
        return [(fam, (h, port))]
    if deadline:
        try:
            result = _with_deadline(deadline, _lookup, host, port, family, socktype)
        except TimeoutError as e:
            if e.errno is not None:
                raise
            raise TimeoutError(f"lookup {host}: i/o timeout") from None  # Go's wording
    else:
        result = _lookup(host, port, family, socktype)
    out = [(fam, sa) for fam, _t, _p, _c, sa in result
           if fam in (socket.AF_INET, socket.AF_INET6)]
    if not out:
        raise socket.gaierror(socket.EAI_NONAME, f"lookup {host}: no such host")
    return out


_lookups: Final = _rt.OffloadLimit(MAX_LOOKUPS)


def _resolver_call(fn: Callable[..., T], /, *args: Any) -> T:
    """fn(*args), a resolver call (getaddrinfo, gethostbyname ...), on an offload thread,
    at most ``MAX_LOOKUPS`` at a time per run; its result or its exception, unchanged.
    (gort.socket's getaddrinfo and gethostbyname family come through here too.)"""
    return _lookups.offload(fn, *args)


def _lookup(host: str, port: int, family: int, socktype: int) -> list[Any]:
    got = _hosts.getaddrinfo(host, port, family, socktype, 0, 0)
    if got is not None:
        return got  # the hosts file's answer, without a thread (Go: hosts.go)
    try:
        return _resolver_call(socket.getaddrinfo, host, port, family, socktype)
    except socket.gaierror as e:
        reason = "no such host" if e.errno in (socket.EAI_NONAME, socket.EAI_NODATA) \
            else str(e.strerror)
        raise socket.gaierror(e.errno, f"lookup {host}: {reason}") from None


def _with_deadline(deadline: int, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a goroutine of its own, given up at ``deadline`` (it finishes unheard)."""
    remaining = (deadline - int(monotonic() * 1e9)) / 1e9
    if remaining <= 0:
        raise TimeoutError("i/o timeout")
    out: _rt.Chan[tuple[bool, Any]] = _rt.Chan(1)

    def run() -> None:
        try:
            v = fn(*args)
        except Exception as e:
            out.send((False, e))
            return
        out.send((True, v))

    gp = _rt.getg()
    s = _rt.running()
    assert s is not None
    _rt.newproc(s, run, (), {}, gp)
    timer = Timer(remaining)
    try:
        i, v = _rt.selectgo((out.recv, timer.c.recv))
    finally:
        timer.stop()
    if i == 1:
        raise TimeoutError("i/o timeout")
    ok, value = v
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def lookup_host(host: str) -> list[str]:
    """The addresses of host, as strings, in the resolver's order (Go: net.LookupHost).

    Runs getaddrinfo on an offload thread (an IP literal is returned as is, a name
    the hosts file answers, such as ``localhost``, is read from it).
    Raises socket.gaierror ("lookup HOST: no such host") if there are none.
    """
    if not isinstance(host, str):
        raise TypeError(f"lookup {host!r}: a host is a str (a name or an IP address), "
                        f"not {type(host).__name__}")
    return [str(sa[0]) for _f, sa in _getaddrinfo(host, 0, socket.AF_UNSPEC,
                                                    socket.SOCK_STREAM, 0)]


def lookup_ip(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The IP addresses of host (Go: net.LookupIP); see lookup_host."""
    return [ipaddress.ip_address(a.split("%", 1)[0]) for a in lookup_host(host)]


# ---------------------------------------------------------------------------
# Errors with Go's operation and addresses (Go: net.OpError)


def _where(op: str, net: str, src: Addr | None, dst: Addr | str | None) -> str:
    """Go's OpError prefix: "read tcp 127.0.0.1:5000->127.0.0.1:40000"."""
    where = f"{op} {net}"
    if src is not None and dst is not None:
        where += f" {src}->{dst}"
    elif dst is not None:
        where += f" {dst}"
    elif src is not None:
        where += f" {src}"
    return where


def _op_error(op: str, net: str, src: Addr | None, dst: Addr | str | None,
              e: BaseException, syscall: str = "") -> BaseException:
    where = _where(op, net, src, dst)
    if isinstance(e, ErrClosed):
        return ErrClosed(f"{where}: use of closed network connection")
    if isinstance(e, TimeoutError) and e.errno is None:
        lookup = str(e) if str(e).startswith("lookup ") else ""  # "lookup HOST: i/o timeout"
        return TimeoutError(f"{where}: {lookup or 'i/o timeout'}")
    if isinstance(e, socket.gaierror):
        return socket.gaierror(e.errno, f"{where}: {e.strerror}")
    if isinstance(e, OSError) and e.errno is not None:
        reason = os.strerror(e.errno)
        reason = reason[:1].lower() + reason[1:]
        if syscall:
            reason = f"{syscall}: {reason}"
        return OSError(e.errno, f"{where}: {reason}")
    return e


def _size_error(where: str, n: Any) -> Exception | None:
    """The error for a read size that is not an int >= 0 (None if n is one).

    Go's Read fills a buffer, so it cannot be asked for a negative length; -1 is
    not "read everything" here as in io: read until b"" (EOF) instead.
    """
    try:
        k = operator.index(n)
    except TypeError:
        return TypeError(f"{where}: size must be an int, not {type(n).__name__}")
    if k < 0:
        return ValueError(f"{where}: negative size {k}: read(n) needs n >= 0 "
                          f"(there is no read-all: read until b'' at EOF)")
    if k > sys.maxsize:
        return OverflowError(f"{where}: size {k} is too large")
    return None


def _buffer_error(where: str, buf: Any) -> Exception | None:
    """The error for a read_into buffer that is not a writable bytes-like object."""
    try:
        readonly = memoryview(buf).readonly
    except TypeError:
        return TypeError(f"{where}: read_into needs a writable bytes-like object "
                         f"(bytearray, memoryview), not {type(buf).__name__}")
    if readonly:
        return TypeError(f"{where}: read_into needs a writable buffer; "
                         f"{type(buf).__name__} is read-only")
    return None


def _data_error(where: str, data: Any) -> Exception | None:
    """The error for write data that is not a bytes-like object."""
    try:
        memoryview(data)
    except TypeError:
        hint = " (encode it first)" if isinstance(data, str) else ""
        return TypeError(f"{where}: data must be a bytes-like object, "
                         f"not {type(data).__name__}{hint}")
    return None


def _check_deadline(where: str, t: Any) -> None:
    """deadline_ns's check of t, its error with Go's "set tcp LOCAL->REMOTE: " in front."""
    try:
        deadline_ns(t)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {str(e).removeprefix('gort.net: ')}") from None


def _check_network(op: str, network: str, allowed: tuple[str, ...]) -> None:
    if network not in allowed:
        raise ValueError(f"{op} {network}: unknown network {network!r}; use one of "
                         f"{', '.join(allowed)}")


# ---------------------------------------------------------------------------
# Conn


class Conn(Deadlines):
    """A connection (Go: net.Conn): TCP, unix or connected UDP, or one end of ``pipe()``.

    Blocking calls park the calling goroutine only. A read and a write may
    wait at once (in two goroutines); two reads (or two writes) take turns.
    """

    __slots__ = ("__weakref__", "_fd", "_laddr", "_net", "_raddr")

    def __init__(self, fd: FD, network: str, laddr: Addr, raddr: Addr) -> None:
        self._fd = fd
        self._net = network
        self._laddr = laddr
        self._raddr = raddr

    def read(self, n: int) -> bytes:
        """Up to n bytes, as soon as any are there; b"" at EOF (Go: Conn.Read).

        ``read(0)`` returns b"" at once (Go's zero-length Read). Raises
        ValueError for a negative n (there is no read-all: read until b""),
        TypeError for a non-integer, TimeoutError past the read deadline,
        ErrClosed once closed, ConnectionResetError if the peer reset the
        connection; every message starts with Go's "read tcp LOCAL->REMOTE".
        """
        try:
            return self._fd.recv(n)
        except OSError as e:
            raise self._error("read", e) from None
        except (TypeError, ValueError, OverflowError):
            bad = _size_error(_where("read", self._net, self._laddr, self._raddr), n)
            if bad is None:
                raise
            raise bad from None

    def read_into(self, buf: Any) -> int:
        """Read into a writable buffer; the number of bytes read, 0 at EOF.

        An empty buffer reads 0 bytes at once; a read-only or non-buffer
        object raises TypeError. Other errors as read's.
        """
        try:
            return self._fd.recv_into(buf)
        except OSError as e:
            raise self._error("read", e) from None
        except TypeError:
            bad = _buffer_error(_where("read", self._net, self._laddr, self._raddr), buf)
            if bad is None:
                raise
            raise bad from None

    def write(self, data: Any) -> int:
        """Write all of data (bytes-like), waiting for room; return len(data) (Go: Conn.Write).

        Raises TypeError for data that is not bytes-like (a str: encode it),
        TimeoutError past the write deadline (part of data may have been
        sent), ErrClosed once closed, BrokenPipeError/ConnectionResetError if
        the peer went away.
        """
        try:
            return self._fd.send_all(data)
        except OSError as e:
            raise self._error("write", e) from None
        except TypeError:
            bad = _data_error(_where("write", self._net, self._laddr, self._raddr), data)
            if bad is None:
                raise
            raise bad from None

    def close(self) -> None:
        """Close; goroutines blocked on the Conn raise ErrClosed. Closing twice is a no-op."""
        self._fd.close()

    def close_write(self) -> None:
        """Shut down the sending side: the peer reads EOF (Go: TCPConn.CloseWrite)."""
        try:
            self._fd.shutdown(socket.SHUT_WR)
        except OSError as e:
            raise self._error("close", e) from None

    def close_read(self) -> None:
        """Shut down the receiving side (Go: TCPConn.CloseRead)."""
        try:
            self._fd.shutdown(socket.SHUT_RD)
        except OSError as e:
            raise self._error("close", e) from None

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        if t is not None:
            _check_deadline(_where("set", self._net, self._laddr, self._raddr), t)
        try:
            self._fd.set_deadline(t, modes)
        except ErrClosed as e:
            raise self._error("set", e) from None

    @property
    def local_addr(self) -> Addr:
        """The local end's address."""
        return self._laddr

    @property
    def remote_addr(self) -> Addr:
        """The remote end's address."""
        return self._raddr

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed, or for a pipe)."""
        return -1 if self._fd.closed else self._fd.fileno()

    def makefile(self, mode: str = "r", buffering: int | None = None, *,
                 encoding: str | None = None, errors: str | None = None,
                 newline: str | None = None) -> IO[Any]:
        """A file object over the connection, as socket.makefile (modes r, w, rw, b).

        Reads and writes park the goroutine as the Conn's do. Closing the
        file does not close the connection.
        """
        return _makefile(self, mode, buffering, encoding, errors, newline)

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else ""
        return f"<gort.net.Conn {self._net} {self._laddr}->{self._raddr}{state}>"

    def _error(self, op: str, e: OSError) -> BaseException:
        # Go names the system call too: "read tcp A->B: read: connection reset by peer"
        return _op_error(op, self._net, self._laddr, self._raddr, e,
                         op if op in ("read", "write") else "")


class _RawConn(io.RawIOBase):
    def __init__(self, conn: Conn, mode: str) -> None:
        super().__init__()
        self._conn = conn
        self._r = "r" in mode
        self._w = "w" in mode

    def readable(self) -> bool:
        return self._r

    def writable(self) -> bool:
        return self._w

    # After a deadline fired in the middle of a buffered operation the buffer's state is
    # not the stream's (a BufferedReader drops what it had gathered for the line; a
    # BufferedWriter cannot tell how much of its buffer went out and would send it
    # again): like the standard library's socket.makefile, the file refuses to go on
    # rather than lose or repeat bytes silently. The Conn itself stays usable.
    _timed_out = False

    def readinto(self, b: Any) -> int:
        if self._timed_out:
            raise OSError("gort.net: cannot read from a makefile() file after a deadline "
                          "fired in it (what it had buffered is lost); read the Conn, or "
                          "make a new file")
        try:
            return self._conn.read_into(b)
        except TimeoutError:
            self._timed_out = True
            raise

    def write(self, b: Any) -> int:
        if self._timed_out:
            raise OSError("gort.net: cannot write to a makefile() file after a deadline "
                          "fired in it (how much of its buffer went out is unknown); write "
                          "the Conn, or make a new file")
        try:
            return self._conn.write(b)
        except TimeoutError:
            self._timed_out = True
            raise


def _makefile(conn: Conn, mode: str, buffering: int | None, encoding: str | None,
              errors: str | None, newline: str | None) -> IO[Any]:
    if not set(mode) <= {"r", "w", "b"} or not ("r" in mode or "w" in mode):
        raise ValueError(f"gort.net: invalid makefile mode {mode!r}; use r, w, rw, rb, wb "
                         "or rwb")
    raw = _RawConn(conn, mode)
    if buffering is None:
        buffering = -1
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        if "b" not in mode:
            raise ValueError("gort.net: unbuffered streams must be binary")
        return raw  # type: ignore[return-value]
    buf: Any
    if "r" in mode and "w" in mode:
        buf = BufferedRWPair(raw, raw, buffering)
    elif "r" in mode:
        buf = BufferedReader(raw, buffering)
    else:
        buf = BufferedWriter(raw, buffering)
    if "b" in mode:
        return buf  # type: ignore[no-any-return]
    text = io.TextIOWrapper(buf, encoding, errors, newline)
    text.mode = mode  # type: ignore[misc]
    return text


# ---------------------------------------------------------------------------
# Dialing


class Dialer:
    """Options for dialing (Go: net.Dialer).

    ``timeout``: seconds for the whole dial (lookup and connect), None for
    none; 0 or less fails at once with TimeoutError (Go: a deadline already
    passed); ``deadline``: an absolute time.monotonic() value, None for none
    (the earlier of the two wins); ``local_addr``: ``"host:port"`` (a path
    for unix, unixgram) to bind before connecting; ``keep_alive``: TCP
    keep-alive period in seconds (Go's default 15), None or negative to turn
    it off; ``fallback_delay``: seconds before a ``tcp`` dial of a name with
    both IPv6 and IPv4 addresses also tries the other family (Go: Dialer.
    FallbackDelay, default 300 ms; 0 starts both at once, negative turns the
    race off and tries every address in order).
    """

    __slots__ = ("deadline", "fallback_delay", "keep_alive", "local_addr", "timeout")

    def __init__(self, timeout: float | None = None, deadline: float | None = None,
                 local_addr: str | None = None,
                 keep_alive: float | None = DEFAULT_KEEP_ALIVE_S,
                 fallback_delay: float = DEFAULT_FALLBACK_DELAY_S) -> None:
        for name, v in (("timeout", timeout), ("fallback_delay", fallback_delay)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise TypeError(f"gort.net.Dialer: {name} is a number of seconds"
                                f"{' or None' if name == 'timeout' else ''}, got {v!r}")
        if fallback_delay is None:
            raise TypeError("gort.net.Dialer: fallback_delay is a number of seconds "
                            "(negative: no race), got None")
        if keep_alive is not None and (isinstance(keep_alive, bool)
                                       or not isinstance(keep_alive, int | float)):
            raise TypeError(f"gort.net.Dialer: keep_alive is a number of seconds, or None "
                            f"(or negative) for none, got {keep_alive!r}")
        if local_addr is not None and not isinstance(local_addr, str):
            raise TypeError(f"gort.net.Dialer: local_addr is a str (\"host:port\", a unix "
                            f"path), got {local_addr!r}")
        deadline_ns(deadline)  # type check
        self.timeout = timeout
        self.deadline = deadline
        self.local_addr = local_addr
        self.keep_alive = keep_alive
        self.fallback_delay = fallback_delay

    def _deadline(self) -> int:
        d = 0
        if self.timeout is not None:
            d = deadline_ns(monotonic() + max(self.timeout, 0.0))
        if self.deadline is not None:
            d2 = deadline_ns(self.deadline)
            d = d2 if d == 0 else min(d, d2)
        return d

    def dial(self, network: str, address: str) -> Conn:
        """Connect to address on network; return the Conn (Go: Dialer.Dial).

        Tries the addresses a name resolves to in the resolver's order until
        one connects; over ``tcp``, a name with IPv6 and IPv4 addresses races
        the families (see ``fallback_delay``). Raises the first failure (of
        the first family), with Go's message ("dial tcp 127.0.0.1:9: connect:
        connection refused"): ConnectionRefusedError, TimeoutError past the
        timeout, socket.gaierror for a name that does not resolve, ValueError
        for a malformed address or unknown network.
        """
        _check_network("dial", network, (*_STREAM, *_DGRAM, *_UNIX))
        deadline = self._deadline()
        if network in _UNIX:
            socktype = socket.SOCK_STREAM if network == "unix" else socket.SOCK_DGRAM
            try:
                path = _unix_path(address)
            except (TypeError, ValueError) as e:
                raise type(e)(f"dial {network}: {e}") from None
            return self._dial_one(network, socket.AF_UNIX, socktype, path, address,
                                  deadline, None)
        stream = network in _STREAM
        family = _STREAM[network] if stream else _DGRAM[network]
        socktype = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
        host, port = _host_port("dial", network, address)
        try:
            addrs = _getaddrinfo(host or "localhost", port, family, socktype, deadline)
        except OSError as e:
            raise _op_error("dial", network, None, None, e) from None
        if network == "tcp" and self.fallback_delay >= 0:  # Go: only "tcp" is dual-stack
            primaries = [a for a in addrs if a[0] == addrs[0][0]]
            fallbacks = [a for a in addrs if a[0] != addrs[0][0]]
            if fallbacks:
                return self._dial_parallel(network, primaries, fallbacks, address, deadline)
        return self._dial_serial(network, socktype, addrs, address, deadline, None)

    def _dial_serial(self, network: str, socktype: int, addrs: list[tuple[int, Any]],
                     address: str, deadline: int, racer: _Racer | None) -> Conn:
        """Each address in turn until one connects (Go: dialSerial); the first error."""
        first: BaseException | None = None
        for fam, sa in addrs:
            try:
                return self._dial_one(network, fam, socktype, sa, address, deadline, racer)
            except OSError as e:
                if first is None:
                    first = e
                if isinstance(e, TimeoutError) and e.errno is None:
                    break  # the deadline is for the whole dial
                if racer is not None and racer.cancelled:
                    break
        assert first is not None
        raise first

    def _dial_parallel(self, network: str, primaries: list[tuple[int, Any]],
                       fallbacks: list[tuple[int, Any]], address: str, deadline: int) -> Conn:
        """Race the primaries and, fallback_delay later, the fallbacks (Go: dialParallel).

        Each side is a goroutine dialing its addresses in turn. The fallbacks start
        when the delay passes or as soon as the primaries have failed; the first
        connection is returned and the other side is stopped (the descriptor it is
        connecting is closed, which wakes its connect) or, if it connects anyway,
        its connection closed. Both failing raises the primaries' error.
        """
        results: _rt.Chan[tuple[bool, Any]] = _rt.Chan()  # (primary, Conn or exception)
        returned: _rt.Chan[None] = _rt.Chan()  # closed when this call returns
        racers = {True: _Racer(), False: _Racer()}
        s = _rt.running()
        assert s is not None
        gp = _rt.getg()

        def race(primary: bool) -> None:
            result: Any
            try:
                result = self._dial_serial(network, socket.SOCK_STREAM,
                                           primaries if primary else fallbacks, address,
                                           deadline, racers[primary])
            except Exception as e:
                result = e
            i, _ = _rt.selectgo(((results.send, (primary, result)), returned.recv))
            if i == 1 and isinstance(result, Conn):
                result.close()  # lost the race

        _rt.newproc(s, race, (True,), {}, gp)
        timer = Timer(max(0.0, self.fallback_delay))
        fallback_started = False
        primary_err: BaseException | None = None
        fallback_err: BaseException | None = None
        try:
            while True:
                i, v = _rt.selectgo((results.recv, timer.c.recv))
                if i == 1:  # the delay passed: start the fallbacks
                    fallback_started = True
                    _rt.newproc(s, race, (False,), {}, gp)
                    continue
                assert v is not None
                primary, result = v
                if isinstance(result, Conn):
                    return result
                if primary:
                    primary_err = result
                else:
                    fallback_err = result
                if primary and not fallback_started:  # no need to wait for the delay
                    timer.stop()
                    fallback_started = True
                    _rt.newproc(s, race, (False,), {}, gp)
                if primary_err is not None and fallback_err is not None:
                    raise primary_err
        finally:
            timer.stop()
            returned.close()
            for r in racers.values():
                r.cancel()

    def _dial_one(self, network: str, family: int, socktype: int, sa: Any, address: str,
                  deadline: int, racer: _Racer | None) -> Conn:
        dst = _addr(network, sa) if family != socket.AF_UNIX else Addr(network, address, 0)
        sock = socket.socket(family, socktype)
        try:
            fd = FD(sock, run_owned=True)
        except BaseException:
            sock.close()
            raise
        step = "setsockopt"
        try:
            if network in _STREAM:
                _tcp_options(sock, self.keep_alive)
            if self.local_addr is not None:
                step = "bind"
                self._bind(sock, network, family)
            if deadline:
                poll_set_deadline(fd.pd, deadline, (WRITE,))
            step = "connect"
            if racer is not None:
                if racer.cancelled:
                    raise ErrClosed("the other address family connected first")
                racer.fd = fd
            fd.connect(sa)
            if racer is not None:
                racer.fd = None
            if deadline:
                poll_set_deadline(fd.pd, 0, (WRITE,))
            laddr = _addr(network, sock.getsockname())
            raddr = dst if family == socket.AF_UNIX else _addr(network, sock.getpeername())
        except OSError as e:
            fd.close()
            raise _op_error("dial", network, None, dst, e, step) from None
        except BaseException:
            fd.close()
            raise
        return Conn(fd, network, laddr, raddr)

    def _bind(self, sock: socket.socket, network: str, family: int) -> None:
        assert self.local_addr is not None
        if network in _UNIX:
            sock.bind(_unix_path(self.local_addr))
            return
        host, port = _host_port("dial", network, self.local_addr)
        sa = _getaddrinfo(host or ("::" if family == socket.AF_INET6 else "0.0.0.0"),
                          port, family, sock.type, 0)[0][1]
        sock.bind(sa)


class _Racer:
    """One side of a dual-stack race: the descriptor it is connecting, so the winner can
    stop it (Go cancels the loser's context)."""

    __slots__ = ("cancelled", "fd")

    def __init__(self) -> None:
        self.cancelled = False
        self.fd: FD | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.fd is not None:
            self.fd.close()  # wakes its connect with ErrClosed
            self.fd = None


def _tcp_options(sock: socket.socket, keep_alive: float | None) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if keep_alive is not None and keep_alive >= 0:
        secs = max(1, int(keep_alive)) if keep_alive else int(DEFAULT_KEEP_ALIVE_S)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, secs)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, secs)


def dial(network: str, address: str, timeout: float | None = None) -> Conn:
    """Connect to address (Go: net.Dial / net.DialTimeout); see Dialer.dial.

    ``dial("tcp", "127.0.0.1:8080")``, ``dial("tcp", "example.com:80",
    timeout=5)``, ``dial("unix", "/run/app.sock")``, ``dial("udp", "[::1]:53")``,
    ``dial("unixgram", "/run/log.sock")``.

    ``timeout=None`` waits as long as the system does; ``timeout=0`` (or less)
    raises TimeoutError at once, a deadline already passed (Python's timeout
    0 means "do not wait" too). Go's DialTimeout reads 0 as no timeout: pass
    None for that.
    """
    return Dialer(timeout=timeout).dial(network, address)


# ---------------------------------------------------------------------------
# Listening


def _somaxconn() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return max(1, min(int(f.read().strip()), 65535))
    except (OSError, ValueError):
        return socket.SOMAXCONN


def _ipv6_works() -> bool:
    """Can this host make an IPv6 socket? (has_ipv6 says only what Python was built with)"""
    if not socket.has_ipv6:
        return False
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
    except OSError:
        return False
    return True


def _bind_socket(op: str, network: str, address: str, socktype: int) -> tuple[FD, Addr]:
    """A bound socket registered with the poller, and its address."""
    fam: int
    if network in _UNIX:
        try:
            fam, sa = socket.AF_UNIX, _unix_path(address)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{op} {network}: {e}") from None
    else:
        host, p = _host_port(op, network, address)
        family = _STREAM[network] if network in _STREAM else _DGRAM[network]
        if host == "":
            if family == socket.AF_UNSPEC:
                family = socket.AF_INET6 if _ipv6_works() else socket.AF_INET
            host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        try:
            fam, sa = _getaddrinfo(host, p, family, socktype, 0)[0]
        except OSError as e:
            raise _op_error(op, network, None, None, e) from None
    sock = socket.socket(fam, socktype)
    try:
        if fam != socket.AF_UNIX and socktype == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6 and network in ("tcp", "udp") and sa[0] == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack, as Go
        sock.bind(sa)
        if socktype == socket.SOCK_STREAM:
            sock.listen(_somaxconn())
        laddr = _addr(network, sock.getsockname())
        fd = FD(sock, run_owned=True)
    except OSError as e:
        sock.close()
        syscall = "bind" if e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL,
                                         errno.EACCES) else ""
        raise _op_error(op, network, None, address, e, syscall) from None
    except BaseException:
        sock.close()
        raise
    return fd, laddr


class Listener:
    """A stream listener (Go: net.Listener): ``accept`` returns Conns."""

    __slots__ = ("__weakref__", "_addr", "_fd", "_net")

    def __init__(self, fd: FD, network: str, addr: Addr, unlink: str | None) -> None:
        self._fd = fd
        self._net = network
        self._addr = addr
        if unlink is not None:  # closed by close() or by the run's end (internal/poll.FD)
            fd.unlink = (unlink, os.getpid())

    def accept(self) -> Conn:
        """Wait for the next connection (Go: Listener.Accept).

        Raises ErrClosed once the listener is closed (also in a goroutine
        blocked here when it closes), TimeoutError past the deadline.
        """
        try:
            sock, sa = self._fd.accept()
        except OSError as e:
            raise _op_error("accept", self._net, self._addr, None, e, "accept4") from None
        try:
            if self._net not in _UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            fd = FD(sock, run_owned=True)
        except BaseException:
            sock.close()
            raise
        laddr = _addr(self._net, sock.getsockname())
        # The address accept returned (Go's too): getpeername fails once the peer has
        # reset the connection (ENOTCONN), and the remote address was then empty.
        return Conn(fd, self._net, laddr, _addr(self._net, sa))

    def close(self) -> None:
        """Stop listening; a goroutine blocked in accept raises ErrClosed. Idempotent.

        A unix listener removes its socket file (as Go's does), also when its run
        ends with it open; not in a forked child, whose listener is the parent's.
        """
        self._fd.close()

    def set_deadline(self, t: float | None) -> None:
        """Deadline for accept: an absolute time.monotonic() value, or None."""
        _check_deadline(_where("set", self._net, None, self._addr), t)
        try:
            self._fd.set_deadline(t, (READ,))
        except ErrClosed as e:
            raise _op_error("set", self._net, self._addr, None, e) from None

    @property
    def addr(self) -> Addr:
        """The address listened on (the actual port when ":0" was asked for)."""
        return self._addr

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return -1 if self._fd.closed else self._fd.fileno()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gort.net.Listener {self._net} {self._addr}{' closed' if self._fd.closed else ''}>"


def listen(network: str, address: str) -> Listener:
    """Listen on address (Go: net.Listen): tcp, tcp4, tcp6 or unix.

    ``":0"`` picks a free port on every address (IPv4 and IPv6, as Go);
    ``"127.0.0.1:0"`` on loopback only; ``listener.addr`` tells the port.
    Raises OSError with Go's message, e.g. "listen tcp 127.0.0.1:80: bind:
    address already in use".
    """
    _check_network("listen", network, (*_STREAM, "unix"))
    fd, laddr = _bind_socket("listen", network, address, socket.SOCK_STREAM)
    unlink = address if network == "unix" and not address.startswith("@") else None
    return Listener(fd, network, laddr, unlink)


class PacketConn(Deadlines):
    """A datagram endpoint (Go: net.PacketConn): ``read_from`` and ``write_to``."""

    __slots__ = ("__weakref__", "_addr", "_fd", "_net")

    def __init__(self, fd: FD, network: str, addr: Addr) -> None:
        self._fd = fd
        self._net = network
        self._addr = addr

    def read_from(self, n: int) -> tuple[bytes, Addr]:
        """The next datagram (truncated to n bytes) and its sender (Go: ReadFrom)."""
        try:
            data, sa = self._fd.recvfrom(n)
        except OSError as e:
            raise _op_error("read", self._net, self._addr, None, e, "recvfrom") from None
        except (TypeError, ValueError, OverflowError):
            bad = _size_error(_where("read", self._net, self._addr, None), n)
            if bad is None:
                raise
            raise bad from None
        return data, _addr(self._net, sa)

    def write_to(self, data: Any, addr: Addr | str) -> int:
        """Send data as one datagram to addr (an Addr, "host:port", or a unixgram path).

        Returns len(data). Raises TypeError for data that is not bytes-like,
        ValueError for a malformed address (an unbound unixgram sender's empty
        one cannot be answered), OSError with Go's message otherwise.
        """
        if not isinstance(addr, str | Addr):  # (str(addr) is an Addr's text)
            raise TypeError(f"{_where('write', self._net, self._addr, None)}: the "
                            f"address is an Addr or a str (\"host:port\", a unixgram "
                            f"path), not {type(addr).__name__}")
        fam = self._fd.sock.family
        try:
            if fam == socket.AF_UNIX:
                sa: Any = _unix_path(str(addr))
            else:
                host, port = split_host_port(str(addr))
                if fam == socket.AF_INET6 and _numeric(host) is not None and \
                        ":" not in host:
                    host = "::ffff:" + host  # an IPv4 peer of a dual-stack socket (_addr)
                sa = _getaddrinfo(host, _port(self._net, port), fam, socket.SOCK_DGRAM,
                                  0)[0][1]
            return self._fd.sendto(data, sa)
        except OSError as e:
            raise _op_error("write", self._net, self._addr, str(addr), e, "sendto") from None
        except ValueError as e:
            raise ValueError(f"{_where('write', self._net, self._addr, str(addr))}: "
                             f"{e}") from None
        except TypeError:
            bad = _data_error(_where("write", self._net, self._addr, str(addr)), data)
            if bad is None:
                raise
            raise bad from None

    def close(self) -> None:
        """Close; a goroutine blocked in read_from raises ErrClosed. Idempotent."""
        self._fd.close()

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        _check_deadline(_where("set", self._net, self._addr, None), t)
        try:
            self._fd.set_deadline(t, modes)
        except ErrClosed as e:
            raise _op_error("set", self._net, self._addr, None, e) from None

    @property
    def local_addr(self) -> Addr:
        """The address bound to."""
        return self._addr

    def __enter__(self) -> PacketConn:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gort.net.PacketConn {self._net} {self._addr}>"


def listen_packet(network: str, address: str) -> PacketConn:
    """Bind a datagram endpoint (Go: net.ListenPacket): udp, udp4, udp6 or unixgram.

    For unixgram the address is a socket path (``@name``: abstract); the
    socket file stays after close, as Go leaves it: remove it yourself.
    """
    _check_network("listen", network, (*_DGRAM, "unixgram"))
    fd, laddr = _bind_socket("listen", network, address, socket.SOCK_DGRAM)
    return PacketConn(fd, network, laddr)


# ---------------------------------------------------------------------------
# pipe: an in-memory, synchronous Conn pair (Go: net.Pipe)


class _PipeDeadline:
    """A deadline as a channel closed when it passes (Go: pipeDeadline)."""

    __slots__ = ("cancel", "timer")

    def __init__(self) -> None:
        self.cancel: _rt.Chan[None] = _rt.Chan()
        self.timer: _rt.Timer | None = None

    def set(self, t: float | None) -> None:
        if self.timer is not None:
            _rt.stop_timer(self.timer)
            self.timer = None
        closed = self.cancel.closed
        if t is None:
            if closed:
                self.cancel = _rt.Chan()
            return
        deadline_ns(t)  # type check
        left = t - monotonic()
        if left > 0:
            if closed:
                self.cancel = _rt.Chan()
            self.timer = _rt.start_timer(left, 0, _close_chan, self.cancel)
        elif not closed:
            self.cancel.close()


def _close_chan(c: _rt.Chan[None], _now: int) -> None:
    if not c.closed:
        c.close()


class _PipeEnd:
    """One end's channels (Go: pipe): data out and counts back, both ends' done, deadlines."""

    __slots__ = ("local_done", "rd_rx", "rd_tx", "rdl", "remote_done", "wdl", "wr_mu",
                 "wr_rx", "wr_tx")

    def __init__(self, rd_rx: _rt.Chan[Any], rd_tx: _rt.Chan[int], wr_tx: _rt.Chan[Any],
                 wr_rx: _rt.Chan[int], local_done: _rt.Chan[None],
                 remote_done: _rt.Chan[None]) -> None:
        self.rd_rx = rd_rx  # data the other end writes
        self.rd_tx = rd_tx  # how much of it this end took
        self.wr_tx = wr_tx
        self.wr_rx = wr_rx
        self.local_done = local_done  # closed by this end's close
        self.remote_done = remote_done
        self.wr_mu = Mutex()  # one write at a time, so writes do not interleave
        self.rdl = _PipeDeadline()
        self.wdl = _PipeDeadline()


class _PipeFD:
    """Enough of FD for Conn: the pipe end's state and whether it is closed.

    A pipe belongs to the run that first uses it (``run``, shared by both
    ends): its channels and mutex hold that run's waiters, and a goroutine
    abandoned in the middle of a read or write when the run ended keeps its
    place in them forever (a later write would hand its data to a goroutine
    that never runs again, a later write wait for its mutex forever). So, as
    a socket's (netpoll.Netpoll.close), a pipe is closed for every later run:
    its calls raise ErrClosed before they touch a channel.
    """

    __slots__ = ("_closed", "end", "run")

    def __init__(self, end: _PipeEnd, run: list[Sched | None]) -> None:
        self.end = end
        self.run = run
        self._closed = False

    @property
    def closed(self) -> bool:
        """Closed by close(), or made in a run that has ended."""
        if self._closed:
            return True
        run = self.run
        s = _rt.running()
        if run[0] is s:
            return False
        if run[0] is None:  # made outside any run: the first run to use it owns it
            run[0] = s
            return False
        return True

    @closed.setter
    def closed(self, v: bool) -> None:
        self._closed = v

    def error(self, op: str) -> ErrClosed:
        if self._closed:
            return ErrClosed(f"{op} pipe: io: read/write on closed pipe")
        return ErrClosed(f"{op} pipe: io: read/write on closed pipe (the pipe belonged to a "
                         f"gort.run that has ended; make a new one in this run)")


class _PipeConn(Conn):
    __slots__ = ("_p",)

    def __init__(self, p: _PipeEnd, run: list[Sched | None]) -> None:
        addr = Addr("pipe", "pipe", 0)
        super().__init__(_PipeFD(p, run), "pipe", addr, addr)  # type: ignore[arg-type]
        self._p = p

    def read(self, n: int) -> bytes:
        bad = _size_error("read pipe", n)
        if bad is not None:
            raise bad
        buf = bytearray(n)
        k = self.read_into(buf)
        return bytes(buf[:k])

    def read_into(self, buf: Any) -> int:
        p = self._p
        bad = _buffer_error("read pipe", buf)
        if bad is not None:
            raise bad
        view = memoryview(buf).cast("B")
        fd = self._fd
        if fd.closed:
            raise fd.error("read")  # type: ignore[attr-defined]
        if p.remote_done.closed:
            return 0
        if p.rdl.cancel.closed:
            raise TimeoutError("read pipe: i/o timeout")
        if len(view) == 0:
            return 0
        i, v = _rt.selectgo((p.rd_rx.recv, p.local_done.recv, p.remote_done.recv,
                             p.rdl.cancel.recv))
        if i == 0:
            n = min(len(view), len(v))
            view[:n] = v[:n]
            p.rd_tx.send(n)
            return n
        if i == 1:
            raise ErrClosed("read pipe: io: read/write on closed pipe")
        if i == 2:
            return 0
        raise TimeoutError("read pipe: i/o timeout")

    def write(self, data: Any) -> int:
        p = self._p
        bad = _data_error("write pipe", data)
        if bad is not None:
            raise bad
        view = memoryview(data).cast("B")
        fd = self._fd
        if fd.closed:
            raise fd.error("write")  # type: ignore[attr-defined]
        if p.remote_done.closed:
            raise ErrClosed("write pipe: io: read/write on closed pipe")
        if p.wdl.cancel.closed:
            raise TimeoutError("write pipe: i/o timeout")
        p.wr_mu.lock()
        try:
            once = True
            done = 0
            while once or done < len(view):
                once = False
                i, _v = _rt.selectgo(((p.wr_tx.send, view[done:]), p.local_done.recv,
                                      p.remote_done.recv, p.wdl.cancel.recv))
                if i == 0:
                    n = p.wr_rx.recv()
                    assert n is not None
                    done += n
                elif i == 3:
                    raise TimeoutError("write pipe: i/o timeout")
                else:
                    raise ErrClosed("write pipe: io: read/write on closed pipe")
            return done
        finally:
            p.wr_mu.unlock()

    def close(self) -> None:
        fd = self._fd
        if not fd.closed:
            fd.closed = True
            self._p.local_done.close()

    def close_write(self) -> None:
        raise io.UnsupportedOperation("gort.net.pipe: close_write is not supported "
                                      "(Go's net.Pipe has no CloseWrite); use close")

    def close_read(self) -> None:
        raise io.UnsupportedOperation("gort.net.pipe: close_read is not supported; use close")

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        _check_deadline("set pipe", t)
        fd = self._fd
        if fd.closed:
            raise fd.error("set")  # type: ignore[attr-defined]
        if READ in modes:
            self._p.rdl.set(t)
        if WRITE in modes:
            self._p.wdl.set(t)

    def fileno(self) -> int:
        return -1


def pipe() -> tuple[Conn, Conn]:
    """A synchronous, in-memory, full-duplex connection pair (Go: net.Pipe).

    What one end writes the other reads; a write blocks until reads on the
    other end have consumed all of it (no buffering). Deadlines work as on
    sockets; ``close`` makes the other end read EOF and its writes raise
    ErrClosed.
    """
    c1: _rt.Chan[Any] = _rt.Chan()
    c2: _rt.Chan[Any] = _rt.Chan()
    r1: _rt.Chan[int] = _rt.Chan()
    r2: _rt.Chan[int] = _rt.Chan()
    done1: _rt.Chan[None] = _rt.Chan()
    done2: _rt.Chan[None] = _rt.Chan()
    run: list[Sched | None] = [_rt.running()]
    return (_PipeConn(_PipeEnd(c1, r1, c2, r2, done1, done2), run),
            _PipeConn(_PipeEnd(c2, r2, c1, r1, done2, done1), run))
