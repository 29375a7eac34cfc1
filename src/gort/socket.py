"""Sockets for code written against the stdlib (Go has no analogue: net.Conn is its API).

``gort.socket.socket`` is a ``socket.socket`` whose blocking calls park the
calling goroutine in the netpoller ("IO wait") instead of stopping the
thread; ``SSLSocket`` is the same for ``ssl``; ``select``, ``poll`` and the
goroutine-aware selectors let stdlib waits park too. ``gort.patch.net()``
installs them in ``socket``, ``ssl``, ``select``, ``selectors`` (and
``time.sleep``), so http.client, urllib, requests/urllib3, smtplib,
redis-py and socketserver cooperate without a line changed.

Invariants:

- The C socket below never waits: its C timeout is 0.0 or None, never a
  positive one (whose waits would hold the thread). The timeout the program
  set lives in ``_gort_timeout`` and is what ``gettimeout``/``getblocking``/
  ``timeout`` report; ``settimeout`` checks its value with the stdlib's own
  setter (on a socket object with no descriptor), so its errors and
  rounding are the stdlib's.
- Every read and write passes MSG_DONTWAIT, so none depends on the
  descriptor's O_NONBLOCK flag; the flag is then chosen for whoever else
  uses the descriptor. It is set only where the program asked for it
  (timeout 0.0, as the stdlib) or where a call has no MSG_DONTWAIT: a
  listener (accept; set by ``listen`` or the first ``accept``, for good)
  and a TLS socket (OpenSSL reads and writes the descriptor itself), and
  for the duration of ``connect`` and ``sendfile``. Every other gort socket
  has a blocking descriptor, as a stdlib socket with no timeout has.
  One MSG_DONTWAIT call does less than the kernel's blocking one, so on a
  blocking stream socket (timeout None) ``send`` goes on until all is queued
  and ``recv``/``recv_into`` with MSG_WAITALL until all asked has come (a
  partial send was silently short); flags of the caller's that ask for no
  wait (MSG_DONTWAIT, MSG_ERRQUEUE) get the kernel's answer at once, and a
  connected stream socket's ``connect`` raises EISCONN (Go's connect loop
  reads it as success). The same for ``sendto``, ``sendmsg`` (ancillary data
  with the first bytes, as the kernel) and the whole recv family
  (``recvfrom``, ``recvmsg`` stop after ancillary data, as the kernel's).
- Every blocking call first tries the C call once. Success costs that call
  and nothing else (no registration, no timer, no switch). Timeout 0.0
  re-raises what the C call raised (BlockingIOError, SSLWantReadError),
  which is exactly the stdlib's non-blocking behaviour.
- Otherwise, on a goroutine: the socket is registered with the running
  netpoller on first need (``internal.poll.FD``: per-direction turns, the
  deadline a runtime timer), the call's timeout becomes a deadline of its
  direction for the duration of the call, and FD's EAGAIN loop runs it
  (``FD._retry``; TLS: ``FD.run_ssl``, shared with gort.tls). A deadline
  raises ``TimeoutError("timed out")`` (ssl: "The read operation timed
  out"), as the stdlib does; a socket closed under a waiting goroutine
  raises OSError(EBADF), as a call on a closed stdlib socket does.
- Texts are the stdlib's: an argument the C call refuses is handed to it
  (connect's address parser raises under its own call name), and repr shows
  the stdlib's class names for gort's classes (``_STD_NAMES``).
- On any other thread (no goroutine there, or no run at all) the wait is a
  ``poll(2)`` on the descriptor with the remaining time: the stdlib's
  blocking semantics, computed here because the C calls never wait.
  Registration is lazy, so a socket that never waits on a goroutine never
  touches the netpoller, and one used in two runs is
  registered again in the second (a PollDesc belongs to one run's epoll).
- Closing or detaching unregisters on the runtime's thread (from another
  thread through cgocallback), before the descriptor is closed. A socket
  that waited on a goroutine refers to itself (its FD holds its C calls), so
  one dropped without ``close`` is closed by the cyclic GC, not at once (the
  stdlib's ResourceWarning says so either way).
- A name in an address (``connect(("example.com", 80))``) is resolved
  through gort.net's resolver path on a goroutine (offload threads, at most
  gort.net.MAX_LOOKUPS at once); the stdlib would resolve it in C, holding
  the thread. ``getaddrinfo`` and the ``gethostbyname`` family do the same;
  numeric hosts never leave the goroutine.

Descriptors given to child processes. O_NONBLOCK belongs to the open file
description, which a child shares: a child given a socket's descriptor as
its stdin or stdout (``subprocess`` with ``stdin=sock``; a forked child that
dup2s it and execs, as ``http.server.CGIHTTPRequestHandler`` does) reads and
writes it with the flag the parent left there. With the flag always set
(this module's first design, and gevent's) the child's reads failed with
EAGAIN and a CGI script got a POST body cut short, silently. Go's answer is
``os.File.Fd()``: it puts the descriptor in blocking mode for good and the
parent's FD then works in blocking mode, holding a thread per blocked call,
which Go can afford. Here the parent's calls do not depend on the flag
(MSG_DONTWAIT), so the descriptor can simply be blocking all the time, and
no hand-over point has to be caught. Rejected: clearing the flag where the
descriptor is handed over (Popen's stdio, the exec family in a forked
child, ``fileno()`` as Go's Fd): the stdlib calls ``fileno()`` everywhere
(selectors, SocketIO), a forked child that execs cannot tell the parent's
socket object that the shared flag changed, and each missed point is data
lost silently. What stays non-blocking, documented: a listener (a prefork
server's children that run gort accept on it with their goroutines parked,
and a blocking accept would stop a child's whole thread: a child that execs
gets a non-blocking listener), a TLS socket (useless to a child), a socket
whose program asked for timeout 0.0 (as the stdlib's). Cost: MSG_DONTWAIT
is one more argument to each C call; a send and a recv_into on a socket
pair measured 2.63-2.95 us against 2.86-3.43 us before (min of 15 x 20 000,
three alternated runs; the noise of this loaded machine hides the change),
and an accepted socket saves the ioctl that made it non-blocking.

Waiting for several descriptors (``select``, ``poll``, selectors) parks on
a private epoll instance: the descriptors are registered in it,
edge-triggered, and its own descriptor (readable when one of them reports)
is registered in the run's netpoller for the wait. The answer is then
computed by the stdlib call itself with timeout 0, so the result's shape and
every error are the stdlib's; an empty answer (epoll reports what select
does not count: EPOLLHUP in a write or exception set, EPOLLPRI in a read
set, a reused number) parks again until something new happens, where
level-triggered registrations woke the waiter again at once, for ever.
A parked wait is listed under each of its descriptors (``_watchers``); a gort
socket's close looks there first
(``_evict``, one dict test when nobody waits) and wakes the waits on its
descriptor, as Go's close wakes a pollDesc's waiters. The kernel would not:
epoll forgets a closed descriptor silently, so the waiter slept to its
timeout, and one woken later by another descriptor asked the stdlib about a
number the kernel may have given to a new socket. The waiter answers for the
closed descriptor without looking at the number (see ``select``, ``poll``,
``_closed_keys``). Cost: an epoll_create, one
epoll_ctl per descriptor and a close per wait that parks; a call that finds
something ready at once costs the stdlib call only. Rejected: registering
the descriptors in the run's epoll (edge-triggered and owned by the FD of
a socket that may itself be waited on by another goroutine), and a thread
per wait (the issue asks for one thread doing the I/O).

``create_connection``, ``create_server``, ``socketpair``, ``fromfd``,
``socket.accept`` and ``_sendfile_use_sendfile`` are the stdlib's own
functions, re-bound to globals where ``socket``, ``getaddrinfo`` and
``selectors`` are this module's (``_rebase``): no copy of their logic to
keep in step with CPython.

From gevent (``_socketcommon.py``, ``_socket3.py``, ``monkey.py``, its
``selectors``): a socket class that keeps the timeout itself over a
non-blocking descriptor, the DNS functions going through a resolver that
does not block the loop, selectors patched rather than removed, and
re-binding the stdlib's functions instead of copying them. Rejected:
gevent's thread affinity (its sockets raise LoopExit when used from another
thread; these fall back to plain blocking), replacing ``ssl.SSLContext``
(``sslsocket_class`` is CPython's own hook), and removing ``select.epoll``
(the stdlib keeps working, the waits park). See gort.patch for the patch
order, which gevent leaves to its users.
"""

from __future__ import annotations

import errno as _errno
import math
import operator
import os
import select as _select
import selectors as _selectors
import socket as _std
import ssl as _ssl
import types
from _socket import socket as _ss
from _socket import socketpair as _c_socketpair
from collections.abc import Callable, Iterable
from threading import get_ident
from time import monotonic
from time import sleep as _thread_sleep
from typing import Any, Final

from . import net as _net
from . import runtime as _rt
from .internal import hosts as _hosts
from .internal.poll import (
    FD,
    SENDTO_PAUSE_MAX_S,
    SENDTO_PAUSE_S,
    ErrClosed,
    connect_done,
    deadline_ns,
    is_unix_dgram,
)
from .runtime.netpoll import READ, WRITE, netpollunblock
from .runtime.poll_runtime import (
    POLL_ERR_TIMEOUT,
    poll_close,
    poll_open,
    poll_set_deadline,
    poll_unblock,
    poll_wait,
)
from .runtime.sched import Sched

__all__ = [
    "SSLSocket",
    "create_connection",
    "create_server",
    "fromfd",
    "getaddrinfo",
    "gethostbyaddr",
    "gethostbyname",
    "gethostbyname_ex",
    "poll",
    "select",
    "socket",
    "socketpair",
]

# The stdlib's functions, taken before gort.patch.net() can replace them.
_std_select: Final = _select.select
_std_poll: Final = _select.poll
_std_epoll: Final = _select.epoll
_std_getaddrinfo: Final = _std.getaddrinfo
_std_gethostbyname: Final = _std.gethostbyname
_std_gethostbyname_ex: Final = _std.gethostbyname_ex
_std_gethostbyaddr: Final = _std.gethostbyaddr

_StdSocket: Final = _std.socket
_DONTWAIT: Final = _std.MSG_DONTWAIT
_WantRead: Final = _ssl.SSLWantReadError
_WantWrite: Final = _ssl.SSLWantWriteError
_EP_READ: Final = _select.EPOLLIN | _select.EPOLLPRI
_EP_WRITE: Final = _select.EPOLLOUT
# poll(2)'s event bits are epoll's on Linux; these are the ones epoll takes.
_EP_POLL_BITS: Final = (_select.EPOLLIN | _select.EPOLLPRI | _select.EPOLLOUT
                        | _select.EPOLLRDNORM | _select.EPOLLRDBAND | _select.EPOLLWRNORM
                        | _select.EPOLLWRBAND | _select.EPOLLRDHUP)
_POLL_MODE: Final = (_select.POLLIN, _select.POLLOUT)
_BOTH: Final = (READ, WRITE)  # the turns a TLS handshake holds
_QUEUE_FULL_PAUSE: Final = 0.001  # a blocking connect's retry for a full AF_UNIX queue
_QUEUE_FULL_PAUSE_MAX: Final = 0.05


def _on_goroutine() -> bool:
    """True on a goroutine of the running runtime (its thread, not in the scheduler)."""
    s = _rt.running()
    return s is not None and s.m0.tid == get_ident() and s.m0.curg is not None


def _ebadf() -> OSError:
    return OSError(_errno.EBADF, os.strerror(_errno.EBADF))


def _wait_fd(fileno: int, mode: int, deadline: float | None, what: str) -> None:
    """Block the thread until fileno is ready for mode (the plain-thread path);
    TimeoutError(what) once the deadline (monotonic seconds) passes."""
    p = _std_poll()
    p.register(fileno, _POLL_MODE[mode])
    if deadline is None:
        p.poll()
        return
    left = deadline - monotonic()
    if left <= 0 or not p.poll(math.ceil(left * 1000)):
        raise TimeoutError(what)


class _TurnTimeout(Exception):
    """A call's timeout passed while it waited for its turn on the descriptor."""


def _take_turn(fd: FD, mode: int, deadline: float | None) -> None:
    """Take mode's turn on fd (internal.poll.FD: one goroutine waits per direction),
    waiting no later than deadline (monotonic seconds; None: none): _TurnTimeout after
    it. Two threads blocked in recv on one stdlib socket each keep their own timeout;
    a goroutine whose call had a timeout waited for the turn, held by a call with none,
    for as long as that call lasted."""
    lock = fd._rlock if mode == READ else fd._wlock
    if deadline is None or not (fd.rbusy if mode == READ else fd.wbusy):
        lock()
        return
    gp = _rt.getg()
    t = _rt.start_timer(max(deadline - monotonic(), 0.0), 0, _turn_timed_out, (gp, fd))
    try:
        lock()
    finally:
        _rt.stop_timer(t)


def _turn_timed_out(arg: tuple[Any, FD], _now: int) -> None:
    """_take_turn's timer: a goroutine still waiting for the turn raises _TurnTimeout
    (one already handed the turn keeps it: its wake-up is on the way)."""
    gp, fd = arg
    if gp.status is _rt.Gstatus.WAITING and gp.waiting is not None and gp.waiting in (
            fd.rturn, fd.wturn):
        _rt.goraise(gp, _TurnTimeout())


def _keep_mode(flag: bool) -> None:
    """FD's setblocking(False) on registration: a no-op for gort sockets, whose
    descriptor's O_NONBLOCK is chosen by the socket (see the module essay)."""


class _Raw:
    """The C calls FD makes on its socket (FD must not reach the overriding methods)."""

    __slots__ = ("close", "connect_ex", "family", "fileno", "getsockopt", "setblocking",
                 "shutdown", "type")

    def __init__(self, s: _ss) -> None:
        self.close = _ss.close.__get__(s)
        self.connect_ex = _ss.connect_ex.__get__(s)
        self.family = _ss.family.__get__(s)
        self.fileno = _ss.fileno.__get__(s)
        self.getsockopt = _ss.getsockopt.__get__(s)
        self.setblocking = _keep_mode  # the socket chooses its descriptor's mode
        self.shutdown = _ss.shutdown.__get__(s)
        self.type = _ss.type.__get__(s)


def _connected(sock: Any) -> bool:
    try:
        _ss.getpeername(sock)
    except OSError:
        return False
    return True


def _dontwait(args: tuple[Any, ...], kwargs: dict[str, Any], at: int,
              fill: tuple[Any, ...]) -> tuple[Any, ...]:
    """args for a C call whose flags are argument ``at`` (``fill``: the defaults of the
    optional arguments before it), with MSG_DONTWAIT or-ed into the flags. Arguments
    the C call will refuse are passed unchanged, for its own error."""
    n = len(args)
    if n > at:
        f = args[at]
        if isinstance(f, int):
            return (*args[:at], f | _DONTWAIT, *args[at + 1:])
        return args
    if kwargs:
        f = kwargs.get("flags", 0)
        if isinstance(f, int):
            kwargs["flags"] = f | _DONTWAIT
        return args
    required = at - len(fill)
    if n < required:
        return args
    return (*args, *fill[n - required:], _DONTWAIT)


def _io_method(name: str, mode: int, at: int | None,
               fill: tuple[Any, ...] = ()) -> Callable[..., Any]:
    """socket.NAME: the C call with MSG_DONTWAIT (argument ``at`` is its flags; None: it
    has none), and the wait for mode when it would block."""
    op = getattr(_ss, name)
    required = -1 if at is None else at - len(fill)
    tail = (*fill, _DONTWAIT)  # the usual call: the required arguments only
    sends = name.startswith("send")
    lists = name in ("sendmsg", "recvmsg_into")  # their first argument: buffers

    def call(self: socket, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) == required and not kwargs:
            args += tail
        elif at is not None:
            args = _dontwait(args, kwargs, at, fill)
        try:
            return op(self, *args, **kwargs)
        except BlockingIOError:
            if self._gort_timeout == 0.0:
                raise
        return self._gort_call(mode, lambda: op(self, *args, **kwargs))

    def method(self: socket, *args: Any, **kwargs: Any) -> Any:
        uf = 0
        if at is not None:
            uf = args[at] if len(args) > at else kwargs.get("flags", 0)
            if not isinstance(uf, int):
                uf = 0
            elif _at_once(self, uf):
                return op(self, *args, **kwargs)
        rest = self._gort_timeout is None and self.type == _std.SOCK_STREAM and (
            sends or uf & _WAITALL)
        if rest and lists and args and not isinstance(args[0], list | tuple):
            try:  # an iterator of buffers: the rest needs them again (the C call lists it)
                args = (list(args[0]), *args[1:])
            except TypeError:
                pass  # not iterable: the C call's own error
        got = call(self, args, kwargs)
        if rest:
            # A blocking stream socket: the kernel's blocking call would have waited for
            # all of it (send, sendmsg), or for all asked with MSG_WAITALL (the recv
            # family); one MSG_DONTWAIT call does not, so the rest is waited for here.
            if sends:
                return _send_rest(self, call, name, args, uf, got)
            return _recv_rest(self, call, name, args, kwargs, uf, got)
        return got

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"{op.__doc__}\n\nAs socket.socket.{name}; waiting parks only the "
                      "calling goroutine (gort).")
    return method


_NOWAIT: Final = _DONTWAIT | getattr(_std, "MSG_ERRQUEUE", 0)


def _at_once(sock: socket, uf: int) -> bool:
    """Whether the caller's flags ``uf`` ask for the kernel's answer at once, as the
    stdlib gives it: no wait (MSG_DONTWAIT) on a socket with no timeout or timeout 0,
    or a queue the kernel answers at once (MSG_ERRQUEUE). With a timeout set the
    stdlib waits whatever the flags (its sock_call polls before each try), and the
    timeout raises TimeoutError."""
    return bool(uf & _NOWAIT) and not (uf & _DONTWAIT and sock._gort_timeout)


def _sendto(sock: Any, args: tuple[Any, ...], _kwargs: dict[str, Any]) -> Any:
    """sendto(data[, flags], address) with MSG_DONTWAIT, and the wait (the call of
    _send_rest)."""
    if len(args) == 2:
        args = (args[0], _DONTWAIT, args[1])
    elif len(args) == 3 and isinstance(args[1], int):
        args = (args[0], args[1] | _DONTWAIT, args[2])
    try:
        return _ss.sendto(sock, *args)
    except BlockingIOError:
        if sock._gort_timeout == 0.0:
            raise
    return sock._gort_call(WRITE, lambda: _ss.sendto(sock, *args))
_WAITALL: Final = _std.MSG_WAITALL


def _views(buffers: Iterable[Any]) -> list[memoryview]:
    """Byte views of buffers (a call that already took them: they are bytes-like)."""
    return [memoryview(b).cast("B") for b in buffers]


def _after(views: list[memoryview], n: int) -> list[memoryview]:
    """views with their first n bytes dropped."""
    for i, v in enumerate(views):
        if n < len(v):
            return [v[n:], *views[i + 1:]]
        n -= len(v)
    return []


def _send_rest(sock: Any, call: Callable[..., Any], name: str, args: tuple[Any, ...],
               flags: int, got: Any) -> Any:
    """send, sendto, sendmsg on a blocking stream socket: send what the first call
    left (the kernel's blocking call returns once all is queued). sendmsg's
    ancillary data went with the first call (the kernel sends it with the first
    bytes); the rest goes without."""
    if name == "sendmsg":
        views = _views(args[0])
        tail = args[3:]  # the address, if one was given

        def again(rest: list[memoryview]) -> tuple[Any, ...]:
            return (rest, (), flags, *tail)
    else:
        views = [memoryview(args[0]).cast("B")]
        tail = args[-1:] if name == "sendto" else ()

        def again(rest: list[memoryview]) -> tuple[Any, ...]:
            return (rest[0], flags, *tail)

    total = got
    rest = _after(views, got)
    while rest:
        n = call(sock, again(rest), {})
        total += n
        rest = _after(rest, n)
    return total


def _recv_rest(sock: Any, call: Callable[..., Any], name: str, args: tuple[Any, ...],
               kwargs: dict[str, Any], flags: int, got: Any) -> Any:
    """A recv-family call with MSG_WAITALL on a blocking stream socket: wait for the
    rest (the kernel's blocking call returns short only at EOF, an error, a signal, or
    after ancillary data: a message with descriptors ends it). The result has the
    first call's shape: recvfrom's address is the first's, recvmsg's ancillary data
    the list of all calls', its msg_flags or-ed."""
    flags &= ~_WAITALL
    msg = name.startswith("recvmsg")
    tup = not isinstance(got, bytes | int)  # recvfrom*, recvmsg*: (data or count, ...)
    first = got[0] if tup else got
    anc = list(got[1]) if msg else []
    mflags = got[2] if msg else 0
    ancsize = (args[1] if len(args) > 1 else 0) if msg else 0
    into = name.endswith("_into")
    views: list[memoryview] = []
    if name == "recvmsg_into":
        views = _views(args[0])
        want = sum(map(len, views))
    elif into:
        buf = memoryview(args[0] if args else kwargs["buffer"]).cast("B")
        nbytes = args[1] if len(args) > 1 else kwargs.get("nbytes", 0)
        want = nbytes or len(buf)
        views = [buf[:want]]
    else:
        want = args[0] if args else kwargs.get("bufsize", 0)
    parts = [] if into else [first]
    have = n = first if into else len(first)
    while n and have < want and not anc:
        more: tuple[Any, ...]
        if name == "recvmsg_into":
            more = (_after(views, have), ancsize, flags)
        elif into:
            more = (_after(views, have)[0], want - have, flags)
        else:
            more = (want - have, ancsize, flags) if msg else (want - have, flags)
        r = call(sock, more, {})
        if tup:
            if msg:
                anc.extend(r[1])
                mflags |= r[2]
            r = r[0]
        n = r if into else len(r)
        have += n
        if not into:
            parts.append(r)
    data = have if into else b"".join(parts)
    if not tup:
        return data
    return (data, anc, mflags, got[3]) if msg else (data, got[1])


def _pending_error_first(sock: Any, op: Callable[[], Any]) -> Callable[[], Any]:
    """op, an AF_UNIX send tried again after a wait, answering as the kernel's blocked
    send: woken by the peer's close, that reads the socket's pending error first
    (ECONNRESET: the peer closed with data unread), where a new MSG_DONTWAIT send
    answers EPIPE and leaves the error pending (a sendall blocked on a full buffer got
    BrokenPipeError, the stdlib's ConnectionResetError). TCP's send reads it first
    either way."""

    def again() -> Any:
        try:
            return op()
        except BrokenPipeError:
            code = _ss.getsockopt(sock, _std.SOL_SOCKET, _std.SO_ERROR)
            if not code:
                raise
        raise OSError(code, os.strerror(code))  # (out of the handler: no __context__)

    return again


class socket(_std.socket):
    """A ``socket.socket`` whose blocking calls park the calling goroutine, not the thread.

    Same constructor, methods, errors and timeout semantics as the stdlib's:
    ``settimeout(None)`` blocks (the goroutine), ``settimeout(0)`` is
    non-blocking (BlockingIOError), ``settimeout(s)`` raises
    ``TimeoutError("timed out")`` after s seconds per call (for
    ``sendall``, for the whole call). From a thread that runs no goroutines
    it behaves as a plain socket. ``accept`` returns this class.
    """

    _gort_fd: FD | None = None
    _gort_s: Sched | None = None
    _gort_timeout: float | None = None
    _gort_nonblocking: bool = False
    """The descriptor stays O_NONBLOCK whatever the timeout: a listener (accept has no
    MSG_DONTWAIT) and a TLS socket (OpenSSL reads and writes the descriptor itself)."""

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1,  # noqa: A002
                 fileno: int | None = None) -> None:
        super().__init__(family, type, proto, fileno)
        t = self._gort_timeout = _ss.gettimeout(self)
        if t is not None or self._gort_nonblocking:
            self._gort_mode(t)

    def _gort_mode(self, t: float | None) -> None:
        """Put the descriptor in the mode of timeout t: O_NONBLOCK for 0.0 (the program
        asked for it) or for a socket that keeps it, else blocking (what a child process
        given the descriptor expects; gort's own calls pass MSG_DONTWAIT). The C socket's
        timeout is 0.0 or None accordingly: never a positive one, whose waits would hold
        the thread."""
        if t == 0.0 or self._gort_nonblocking:
            if _ss.gettimeout(self) != 0.0:
                _ss.settimeout(self, 0.0)
                return
        elif _ss.gettimeout(self) is not None:
            _ss.settimeout(self, None)
            return
        if _ss.fileno(self) < 0:
            raise _ebadf()  # as the stdlib's settimeout on a closed socket

    def _gort_keep_nonblocking(self) -> None:
        """O_NONBLOCK for good (a listener); nothing to do if already so."""
        if not self._gort_nonblocking:
            self._gort_nonblocking = True
            if _ss.gettimeout(self) != 0.0:
                _ss.settimeout(self, 0.0)

    # -- timeouts: the program's, kept here; the C socket never waits ----------------

    def settimeout(self, value: float | None) -> None:
        """As socket.socket.settimeout (its checks and errors); seconds, None or 0.0."""
        if value is None:
            t = None
        else:
            # The stdlib's checks and rounding, on a socket object with no descriptor (its
            # setter stores the value, then fails to set a mode): this socket's mode must
            # not flip on the way, a child process may be reading its descriptor.
            probe = _ss.__new__(_ss)
            try:
                _ss.settimeout(probe, value)
            except OSError:
                pass
            t = _ss.gettimeout(probe)
        self._gort_timeout = t
        self._gort_mode(t)

    def gettimeout(self) -> float | None:
        """The timeout set (seconds), None for none (the C socket below never waits)."""
        return self._gort_timeout

    def setblocking(self, flag: bool) -> None:
        """setblocking(True) is settimeout(None), setblocking(False) is settimeout(0.0)."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        """False if the timeout is 0.0, else True (as the stdlib)."""
        return self._gort_timeout != 0.0

    @property
    def timeout(self) -> float | None:
        """The timeout set, as gettimeout()."""
        return self._gort_timeout

    def _gort_begin_nonblocking(self) -> bool:
        """O_NONBLOCK for a call that has no MSG_DONTWAIT (connect, sendfile): True if it
        was switched on here, for _gort_end_nonblocking."""
        if _ss.gettimeout(self) is None:
            _ss.settimeout(self, 0.0)
            return True
        return False

    def _gort_end_nonblocking(self, switched: bool) -> None:
        if switched and _ss.fileno(self) >= 0 and not self._gort_nonblocking:
            _ss.settimeout(self, None)

    # -- waiting ---------------------------------------------------------------------

    def _gort_pollfd(self) -> FD:
        """This socket's FD in the running netpoller, registered on first need."""
        fd = self._gort_fd
        s = _rt.running()
        if fd is None or fd.closed or self._gort_s is not s:
            fd = self._gort_fd = FD(_Raw(self))  # type: ignore[arg-type]
            self._gort_s = s
        return fd

    def _gort_call(self, want: int, op: Callable[[], Any], what: str = "timed out",
                   tls: tuple[int, ...] = ()) -> Any:
        """op() until it stops raising BlockingIOError (TLS: SSLWant*), waiting for the
        direction it wants (first: want) between tries, within the socket's timeout;
        TimeoutError(what) after it. The caller tried op once. ``tls``: the turns a
        TLS call holds (its direction; both for a handshake)."""
        t = self._gort_timeout
        if want == WRITE and not tls and self.family == _std.AF_UNIX:
            op = _pending_error_first(self, op)
        if not _on_goroutine():
            deadline = None if t is None else monotonic() + t
            fileno = _ss.fileno(self)
            backoff = None
            while True:
                if backoff is None:
                    _wait_fd(fileno, want, deadline, what)
                else:  # internal.poll.FD._retry's pause, on this thread
                    _thread_sleep(backoff.next(None if deadline is None
                                               else max(deadline - monotonic(), 0.0)))
                    if deadline is not None and monotonic() >= deadline:
                        raise TimeoutError(what)
                try:
                    return op()
                except BlockingIOError:
                    if want == WRITE and not tls and is_unix_dgram(self):
                        backoff = backoff or _rt.Backoff(SENDTO_PAUSE_S, SENDTO_PAUSE_MAX_S)
                except _WantRead:
                    want = READ
                except _WantWrite:
                    want = WRITE
        fd = self._gort_pollfd()
        modes = tls or (want,)
        deadline = None if t is None else monotonic() + t
        taken: list[int] = []
        failed: OSError
        try:
            for m in modes:
                _take_turn(fd, m, deadline)
                taken.append(m)
            if not tls:
                return self._gort_within(fd, modes, what, deadline, fd._retry, want, op)
            return self._gort_within(fd, modes, what, deadline, fd.run_ssl, op,
                                     modes[0] if len(modes) == 1 else None, (), True)
        except _TurnTimeout:
            failed = TimeoutError(what)
        except ErrClosed:
            failed = _ebadf()
        finally:
            for m in reversed(taken):
                (fd._runlock if m == READ else fd._wunlock)()
        raise failed  # (out of the handler: no __context__, see _gort_within)

    def _gort_within(self, fd: FD, modes: tuple[int, ...], what: str, deadline: float | None,
                     fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args), one of FD's parking calls, with deadline (monotonic seconds; None:
        none) as the deadline of modes; FD's errors as the stdlib's: TimeoutError(what),
        OSError(EBADF)."""
        failed: OSError
        try:
            if deadline is not None:
                fd.set_deadline(deadline, modes)
            try:
                return fn(*args)
            finally:
                if deadline is not None and not fd.pd.closing:
                    fd.set_deadline(None, modes)
        except ErrClosed:
            failed = _ebadf()
        except TimeoutError as e:
            if e.errno is not None:
                raise
            failed = TimeoutError(what)
        # Raised out of the handler, as the stdlib's own: with no __context__ (``from
        # None`` only hides it: the poller's error stayed in __context__, and a program
        # or logger walking the chain found it).
        raise failed

    # -- the blocking calls ----------------------------------------------------------

    recv = _io_method("recv", READ, 1)
    recv_into = _io_method("recv_into", READ, 2, (0,))
    recvfrom = _io_method("recvfrom", READ, 1)
    recvfrom_into = _io_method("recvfrom_into", READ, 2, (0,))
    recvmsg = _io_method("recvmsg", READ, 2, (0,))
    recvmsg_into = _io_method("recvmsg_into", READ, 2, (0,))
    send = _io_method("send", WRITE, 1)
    sendmsg = _io_method("sendmsg", WRITE, 2, ((),))
    _std_accept = _io_method("_accept", READ, None)  # no flags: the listener is O_NONBLOCK

    def sendto(self, *args: Any) -> Any:
        """As socket.socket.sendto(data[, flags], address); waiting parks only the
        calling goroutine (gort)."""
        uf = args[1] if len(args) == 3 and isinstance(args[1], int) else 0
        if _at_once(self, uf):
            return _ss.sendto(self, *args)  # the caller asked for no wait
        got = _sendto(self, args, {})
        if self._gort_timeout is None and self.type == _std.SOCK_STREAM:
            # (a connected stream socket ignores the address; the kernel sends all)
            return _send_rest(self, _sendto, "sendto", args, uf, got)
        return got

    def listen(self, *backlog: int) -> None:
        """As socket.socket.listen; a listening socket stays non-blocking for good
        (accept has no MSG_DONTWAIT; see the module essay)."""
        _ss.listen(self, *backlog)
        self._gort_keep_nonblocking()

    def _accept(self) -> tuple[int, Any]:
        self._gort_keep_nonblocking()  # a listener made elsewhere (fromfd, inherited)
        return self._std_accept()  # type: ignore[no-any-return]

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of data (bytes-like); the timeout bounds the whole call, as the stdlib's."""
        if self._gort_timeout == 0.0 or not isinstance(flags, int):
            return _ss.sendall(self, data, flags)  # (a bad flags: its TypeError, no I/O)
        try:
            view = memoryview(data)
            b = view.cast("B")
        except TypeError:  # not bytes-like, or not contiguous: the C call refuses it
            return _ss.sendall(self, data, flags)  # with the stdlib's error, before any I/O
        flags |= _DONTWAIT
        with view, b:
            total = len(b)
            try:
                sent = _ss.send(self, b, flags)
            except BlockingIOError:
                sent = 0
            if sent >= total:
                return None
            done = [sent]

            def rest() -> None:
                while done[0] < total:
                    done[0] += _ss.send(self, b[done[0]:], flags)

            self._gort_call(WRITE, rest)
        return None

    def connect(self, address: Any) -> None:
        """As socket.socket.connect; a host name is resolved without holding the thread."""
        self._gort_dial(address, _ss.connect)

    def _gort_dial(self, address: Any, parse: Callable[[Any, Any], Any]) -> None:
        """connect; parse (the C connect or connect_ex) names the address parser's errors
        as the stdlib's call does ("connect_ex(): port must be 0-65535.")."""
        t = self._gort_timeout
        if _on_goroutine():
            address = self._gort_resolve(address)
        if t == 0.0 or _ss.fileno(self) < 0:
            # Closed: the stdlib's parse errors, then EBADF.
            _ss.connect(self, address)
            return
        switched = self._gort_begin_nonblocking()  # connect has no MSG_DONTWAIT
        try:
            self._gort_connect(t, address)
            return
        except (TypeError, ValueError, OverflowError) as e:
            refused = e
        finally:
            self._gort_end_nonblocking(switched)
        # The address parser's error, from the connect_ex below: raised again by the
        # parser of the stdlib's call (no system call: the parse fails first), out of
        # the handler (the stdlib's has no __context__).
        parse(self, address)
        raise refused

    def _gort_connect(self, t: float | None, address: Any) -> None:
        """connect's wait on a goroutine (the netpoller) or a thread (poll(2)), as the
        stdlib's: with a timeout, CPython waits for EINPROGRESS (and EINTR) only, and
        any other answer of the kernel's (EALREADY: still connecting; EAGAIN: an AF_UNIX
        listener's queue is full) is the call's; with none, the kernel's blocking
        connect waits for a connect in progress (EALREADY) and for room in a full
        AF_UNIX queue, which no event announces: tried again after a sleep (1 ms,
        doubling to 50 ms). (Both waited for writable, and a full queue's socket was
        then reported connected, unconnected.)"""
        backoff = _rt.Backoff(_QUEUE_FULL_PAUSE, _QUEUE_FULL_PAUSE_MAX)
        while True:
            try:
                self._gort_connect_once(t, address)
                return
            except BlockingIOError as e:
                if t is not None or e.errno != _errno.EAGAIN:
                    raise
            if _on_goroutine():
                backoff.sleep()
            else:
                _thread_sleep(backoff.next())

    def _gort_connect_once(self, t: float | None, address: Any) -> None:
        if self.type == _std.SOCK_STREAM and _connected(self):
            # Connected: the kernel's answer, at once: EISCONN, or success for the first
            # connect after an asynchronous one completed (Go's connect loop reads
            # EISCONN as success), or EAGAIN while an AF_UNIX listener's queue is full
            # (checked first: the stdlib's blocking socket sleeps there, and so did the
            # thread of a goroutine here).
            _ss.connect(self, address)
            return
        if not _on_goroutine():
            code = _ss.connect_ex(self, address)
            if code in ((_errno.EINPROGRESS, _errno.EINTR, _errno.EALREADY) if t is None
                        else (_errno.EINPROGRESS, _errno.EINTR)):
                fileno = _ss.fileno(self)
                _wait_fd(fileno, WRITE, None if t is None else monotonic() + t, "timed out")
                code = _ss.getsockopt(self, _std.SOL_SOCKET, _std.SO_ERROR)
                if t is None:
                    connect_done(_Raw(self), address)
            if code:
                raise OSError(code, os.strerror(code))
            return
        fd = self._gort_pollfd()
        self._gort_within(fd, (WRITE,), "timed out", None if t is None else monotonic() + t,
                          fd.connect, address, t is None, t is None)

    def connect_ex(self, address: Any) -> int:
        """As socket.socket.connect_ex: 0, or the errno (EAGAIN after the timeout)."""
        if self._gort_timeout == 0.0 or _ss.fileno(self) < 0:  # (as in connect)
            return _ss.connect_ex(self, self._gort_resolve(address) if _on_goroutine()
                                  else address)
        try:
            self._gort_dial(address, _ss.connect_ex)
        except _std.gaierror:
            raise
        except TimeoutError as e:
            return e.errno if e.errno is not None else _errno.EWOULDBLOCK
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def _gort_resolve(self, address: Any) -> Any:
        """address with a host name resolved through gort.net's resolver path, as the
        stdlib's connect resolves it (in C, holding the thread): an ASCII name as it is,
        another through the idna codec, the port and the rest of the
        tuple unchanged. An address the stdlib's parser refuses (its shape, a port that
        is not an int, a NUL in the host) is returned as it is, for the C call's own
        error with the stdlib's text."""
        if (self.family not in (_std.AF_INET, _std.AF_INET6) or type(address) is not tuple
                or not 2 <= len(address) <= (2 if self.family == _std.AF_INET else 4)
                or not isinstance(address[0], str)):
            return address
        host = address[0]
        if host in ("", "<broadcast>") or "\0" in host or _numeric(host):
            return address
        try:
            operator.index(address[1])
        except TypeError:
            return address
        try:
            name = host.encode("ascii") if host.isascii() else host.encode("idna")
        except UnicodeError:
            return address  # the C parser's "encoding of hostname failed"
        infos = getaddrinfo(name, None, self.family)
        return (infos[0][4][0], *address[1:])

    # -- closing ---------------------------------------------------------------------

    def __repr__(self) -> str:
        """The stdlib's repr, and its class name for gort's own classes (a patched program
        prints what it printed before: ``<socket.socket fd=3, ...>``, ``<ssl.SSLSocket
        ...>``); a subclass of the program's shows its own, as the stdlib's do."""
        r = super().__repr__()
        cls = type(self)
        name = _STD_NAMES.get(cls)
        if name is not None:
            r = r.replace(f"<{cls.__module__}.{cls.__qualname__}", f"<{name}", 1)
        return r

    def _gort_release(self, close: bool) -> bool:
        """Unregister from the netpoller (on its thread), closing the socket if close.
        False if there was nothing to do there (the caller closes or detaches)."""
        fd = self._gort_fd
        if fd is None:
            return False
        self._gort_fd = None
        s = self._gort_s
        if fd.closed or s is None or s is not _rt.running():
            return False  # that run's epoll is gone, and its registration with it
        fn = fd.close if close else fd.release
        if s.m0.tid == get_ident():
            fn()
            return True
        try:
            _rt.cgocallback(s, fn)
        except RuntimeError:  # the run is ending: its epoll goes with it
            return False
        return True

    def shutdown(self, how: int, /) -> None:
        """As socket.socket.shutdown (SHUT_RD, SHUT_WR, SHUT_RDWR); the goroutines
        parked on this socket in the shut direction(s) wake and retry, getting the
        kernel's answer (a sendall after SHUT_WR: BrokenPipeError), as Go's poller
        wakes its waiters; the kernel does not always signal the socket's own shutdown
        (AF_UNIX's SHUT_WR: no EPOLLOUT), and a waiter slept on."""
        _ss.shutdown(self, how)
        fd = self._gort_fd
        s = self._gort_s
        if fd is None or fd.closed or s is None or s is not _rt.running():
            return
        modes = {_std.SHUT_RD: (READ,), _std.SHUT_WR: (WRITE,)}.get(how, (READ, WRITE))
        if s.m0.tid == get_ident():
            _wake_modes(s, fd, modes)
            return
        try:
            _rt.cgocallback(s, _wake_modes, s, fd, modes)
        except RuntimeError:  # the run is ending (its waits with it), or sysmon's thread
            pass

    def _real_close(self, _ss: type[_ss] = _ss) -> None:
        if _watchers:
            _evict(_ss.fileno(self))
        if not self._gort_release(True):
            _ss.close(self)

    def detach(self) -> int:
        """As socket.socket.detach (the descriptor leaves the netpoller first)."""
        self._gort_release(False)
        return super().detach()


class SSLSocket(_ssl.SSLSocket, socket):
    """``ssl.SSLSocket`` over a gort socket: TLS reads, writes and handshakes park the
    goroutine (``ssl.SSLContext.sslsocket_class``, which gort.patch.net() sets).

    Timeouts as the stdlib's: TimeoutError("The read operation timed out"),
    "The write operation timed out", "The handshake operation timed out". Its
    descriptor is always O_NONBLOCK (OpenSSL does the reads and writes).
    """

    _gort_nonblocking = True

    def read(self, len: int = 1024, buffer: Any = None) -> Any:  # noqa: A002
        """As ssl.SSLSocket.read (bytes, or the count read into buffer)."""
        return self._gort_ssl((READ,), _ssl.SSLSocket.read, (self, len, buffer), "read")

    def write(self, data: Any) -> int:
        """As ssl.SSLSocket.write: the number of bytes written."""
        return self._gort_ssl((WRITE,), _ssl.SSLSocket.write,  # type: ignore[no-any-return]
                              (self, data), "write")

    def send(self, data: Any, flags: int = 0) -> int:
        """As ssl.SSLSocket.send."""
        if getattr(self, "_sslobj", None) is not None and flags == 0:
            return self.write(data)
        return _ssl.SSLSocket.send(self, data, flags)

    def do_handshake(self, block: bool = False) -> None:
        """As ssl.SSLSocket.do_handshake (block: wait even on a non-blocking socket)."""
        if block and self._gort_timeout == 0.0:
            self._gort_timeout = None
            try:
                self._gort_ssl(_BOTH, _ssl.SSLSocket.do_handshake, (self,), "handshake")
            finally:
                self._gort_timeout = 0.0
            return
        self._gort_ssl(_BOTH, _ssl.SSLSocket.do_handshake, (self,), "handshake")

    def unwrap(self) -> Any:
        """As ssl.SSLSocket.unwrap (sends close_notify, waits for the peer's). Its timeout
        names the direction it waited in, as the stdlib's: "The read operation timed
        out" (the peer's close_notify), "The write operation timed out"."""
        wanted = [READ]

        def shutdown() -> Any:
            try:
                return _ssl.SSLSocket.unwrap(self)
            except _WantRead:
                wanted[0] = READ
                raise
            except _WantWrite:
                wanted[0] = WRITE
                raise

        try:
            return self._gort_ssl(_BOTH, shutdown, (), "read")
        except TimeoutError as e:
            if e.errno is not None or wanted[0] == READ:
                raise
        raise TimeoutError("The write operation timed out")  # (no __context__)

    def _gort_ssl(self, turns: tuple[int, ...], fn: Any, args: tuple[Any, ...],
                  op: str) -> Any:
        if self._gort_timeout == 0.0:
            return fn(*args)
        try:
            return fn(*args)
        except _WantRead:
            want = READ
        except _WantWrite:
            want = WRITE
        what = (_handshake_timeout() if op == "handshake" and self._gort_timeout is not None
                else f"The {op} operation timed out")
        return self._gort_call(want, lambda: fn(*args), what, turns)


_STD_NAMES: Final[dict[type, str]] = {socket: "socket.socket", SSLSocket: "ssl.SSLSocket"}
_handshake_text: list[str] = []


def _handshake_timeout() -> str:
    """The stdlib's text for a handshake timeout. CPython's names its source line
    ("_ssl.c:989: The handshake operation timed out" on 3.11), which differs between
    versions and builds: learnt once by timing out a stdlib handshake (a socket pair
    whose peer never answers, a 1 ns timeout: about a millisecond)."""
    if not _handshake_text:
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
        ctx.sslsocket_class = _ssl.SSLSocket  # the stdlib's, patched or not
        a, b = _c_socketpair()  # C socket objects: no gort socket in the probe
        try:
            t = ctx.wrap_socket(_StdSocket(fileno=a.detach()), do_handshake_on_connect=False)
            try:
                t.settimeout(1e-9)
                t.do_handshake()
            except TimeoutError as e:
                _handshake_text.append(str(e))
            finally:
                t.close()
        finally:
            b.close()
        if not _handshake_text:  # (it cannot complete: the peer never answers)
            _handshake_text.append("The handshake operation timed out")
    return _handshake_text[0]


# ---------------------------------------------------------------------------
# Name resolution (gort.net's resolver path on a goroutine)


def _numeric(host: Any) -> bool:
    """True for an IP literal (or None): resolved in place, without a lookup. A host with a
    NUL is a name (the C resolver reads up to the NUL: "localhost\\0x" is localhost)."""
    if host is None:
        return True
    if isinstance(host, bytes | bytearray):
        host = bytes(host).decode("ascii", "replace")
    return isinstance(host, str) and "\0" not in host and _net._numeric(host) is not None


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0,  # noqa: A002
                proto: int = 0, flags: int = 0) -> list[tuple[Any, ...]]:
    """As socket.getaddrinfo (same results and errors: socket.gaierror); on a goroutine a
    name is looked up on gort's offload threads (at most gort.net.MAX_LOOKUPS at once),
    a numeric host in place, and a name the hosts file answers (``localhost``) from
    the file, as glibc would (gort.internal.hosts)."""
    if _numeric(host) or flags & _std.AI_NUMERICHOST or not _on_goroutine():
        return _std_getaddrinfo(host, port, family, type, proto, flags)
    got = _hosts.getaddrinfo(host, port, family, type, proto, flags)
    if got is not None:
        return got
    return _net._resolver_call(_std_getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """As socket.gethostbyname: the IPv4 address of hostname (str); resolved as getaddrinfo."""
    if _numeric(hostname) or not _on_goroutine():
        return _std_gethostbyname(hostname)
    return _hosts.gethostbyname(hostname) or _net._resolver_call(_std_gethostbyname,
                                                                 hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """As socket.gethostbyname_ex: (name, aliases, IPv4 addresses); resolved as getaddrinfo."""
    if not _on_goroutine():
        return _std_gethostbyname_ex(hostname)
    return _hosts.gethostbyname_ex(hostname) or _net._resolver_call(
        _std_gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """As socket.gethostbyaddr: (name, aliases, addresses) of an address (reverse lookup)."""
    if not _on_goroutine():
        return _std_gethostbyaddr(ip_address)
    return _hosts.gethostbyaddr(ip_address) or _net._resolver_call(
        _std_gethostbyaddr, ip_address)


# ---------------------------------------------------------------------------
# Waiting for several descriptors: select, poll, selectors


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


# A descriptor always ready for writing (a pipe nobody writes to). A stdlib wait given
# it returns at once, after checking its timeout argument as it always does: so the
# parking versions below raise the stdlib's own errors for a bad timeout (inf, NaN, a
# str) instead of parking forever or failing inside gort. Made at import, as the probes
# below: made at a wait's first call, they took the lowest free numbers, a descriptor
# the program had just closed while registered among them, and the stdlib's answer for
# the closed number (EBADF, POLLNVAL) became the probe's (nothing ready).
_PROBE_READ, _PROBE_FD = os.pipe()  # (the read end stays open: else EPIPE)
_PROBE_POLL: Final = _std_poll()
_PROBE_POLL.register(_PROBE_FD, _select.POLLOUT)
_probe_selectors: dict[type, Any] = {}


def _probe_selector(cls: type) -> Any:
    """A probe instance of selector class cls (None if it cannot be made)."""
    probe = _probe_selectors.get(cls)
    if probe is None:
        try:
            probe = cls()
            probe.register(_PROBE_FD, _selectors.EVENT_WRITE)
        except Exception:  # a subclass that needs arguments: no check, as before
            return None
        _probe_selectors[cls] = probe
    return probe


def _check_selector_timeout(cls: type, orig: Callable[..., Any], timeout: Any) -> None:
    """orig (a selector class's own select) on a probe instance of cls, for its errors.
    The stdlib's classes have theirs from import on; a subclass of the program's gets
    one at its first wait."""
    probe = _probe_selector(cls)
    if probe is not None:
        orig(probe, timeout)


class _Watch:
    """One parked select/poll/selector wait: its private epoll's PollDesc, and the
    descriptors closed under it (by ``_evict``)."""

    __slots__ = ("changed", "closed", "pd", "s")

    def __init__(self, pd: Any, s: Sched) -> None:
        self.pd = pd
        self.s = s
        self.closed: set[int] = set()
        self.changed = False  # its selector's keys changed under it (selector_changed)


# descriptor -> the parked multi-descriptor waits watching it (touched on the runtime's
# thread only; a closer on another thread goes through cgocallback)
_watchers: dict[int, list[_Watch]] = {}


def _wake_modes(s: Sched, fd: FD, modes: tuple[int, ...]) -> None:
    """Ready fd's waiters in modes as if the descriptor were ready (they retry their
    call); on s's M."""
    if fd.closed or fd.pd.closing:
        return
    for mode in modes:
        gp = netpollunblock(s.netpoll, fd.pd, mode, True)
        if gp is not None:
            _rt.goready(gp)


def _evict(fileno: int) -> None:
    """fileno is about to be closed by a gort socket: wake the goroutines parked in
    select/poll/selectors on it, telling them it was closed (Go: a close wakes the
    pollDesc's waiters). Before this a waiter slept on until its timeout, and one woken
    later by another descriptor looked at whatever the kernel reused the number for."""
    watches = _watchers.get(fileno)
    if not watches:
        return
    s = watches[0].s
    if s.m0.tid == get_ident():
        _evict_on_m(fileno)
        return
    try:
        _rt.cgocallback(s, _evict_on_m, fileno)
    except RuntimeError:  # the run is ending (its waits with it), or sysmon's thread
        pass


def _evict_on_m(fileno: int) -> None:
    for w in _watchers.get(fileno, ()):
        w.closed.add(fileno)
        poll_unblock(w.pd)


def selector_changed(sel: object) -> None:
    """sel's keys were registered, modified or unregistered: wake the goroutine parked in
    its select so it looks again, as the kernel shows an epoll waiter a change at once
    (the stdlib's EpollSelector). Used by gort.patch for the epoll-based selectors."""
    watches = _sel_waits.get(id(sel))
    if not watches:
        return
    s = watches[0].s
    if s.m0.tid == get_ident():
        _changed_on_m(id(sel))
        return
    try:
        _rt.cgocallback(s, _changed_on_m, id(sel))
    except RuntimeError:  # the run is ending (its waits with it), or sysmon's thread
        pass


def _changed_on_m(key: int) -> None:
    for w in _sel_waits.get(key, ()):
        w.changed = True
        poll_unblock(w.pd)


def selector_kicking(orig: Callable[..., Any]) -> Callable[..., Any]:
    """A selector method (register, modify, unregister) that wakes the selector's parked
    select after orig (see selector_changed)."""

    def method(self: _selectors.BaseSelector, *args: Any, **kwargs: Any) -> Any:
        r = orig(self, *args, **kwargs)
        selector_changed(self)
        return r

    method.__doc__ = orig.__doc__
    method.__name__ = orig.__name__
    method.__qualname__ = getattr(orig, "__qualname__", orig.__name__)
    return method


# id(selector) -> the parked waits in its select (the selector is alive while they are)
_sel_waits: dict[int, list[_Watch]] = {}


_READY: Final = 0  # _wait_fds's answers: the stdlib's answer says something is ready
_TIMEOUT: Final = 1  # the deadline passed
_CLOSED: Final = 2  # a gort socket closed some of the descriptors (their set)
_CHANGED: Final = 3  # the selector's keys changed


def _wait_fds(pairs: Iterable[tuple[int, int]], deadline: float | None,
              answer: Callable[[], Any], sel: object = None) -> tuple[int, Any]:
    """Park the goroutine until answer() (the stdlib's call with timeout 0; None: nothing
    ready) has an answer: (_READY, it); or until the deadline (monotonic seconds; None:
    none): (_TIMEOUT, None); or until a gort socket closes one of the fds: (_CLOSED, the
    set of those closed; see the module essay); or, for a wait in selector sel's select,
    until its keys change (selector_changed): (_CHANGED, None).

    answer is asked each time the private epoll reports a descriptor: the epoll can say
    more than the stdlib's call counts (EPOLLHUP and EPOLLERR always, which select's
    write and exception sets ignore; EPOLLPRI for a read set; a closed descriptor's
    number reused by a ready file the stdlib's epoll forgot), and the wait then goes on
    as the stdlib's does. The descriptors are edge-triggered in the private epoll, so a
    state answer() does not count is reported once, not again until something new
    happens on the descriptor (level-triggered, the waiter was woken again at once and
    spun to its deadline, and for ever without one: the caller's loop never parked)."""
    masks: dict[int, int] = {}
    for fd, ev in pairs:
        masks[fd] = masks.get(fd, 0) | ev
    ep = _std_epoll()
    try:
        for fd, ev in masks.items():
            if fd == ep.fileno():
                continue  # closed, its number taken by this epoll: as EBADF below
            try:
                ep.register(fd, ev | _select.EPOLLET)
            except OSError as e:
                # EBADF: closed (the stdlib's epoll forgets a closed descriptor; select
                # and poll said so at their call). EPERM: not pollable (a regular file,
                # /dev/null, a directory): the callers' zero-timeout select/poll answer
                # it (ready for read and write, never for POLLPRI); its other events
                # never come. Wait on the rest.
                if e.errno not in (_errno.EBADF, _errno.EPERM):
                    raise
        if ep.poll(0):
            r = answer()
            if r is not None:
                return _READY, r
        pd = poll_open(ep.fileno())
        w = _Watch(pd, _rt.current_sched())
        for fd in masks:
            _watchers.setdefault(fd, []).append(w)
        if sel is not None:
            _sel_waits.setdefault(id(sel), []).append(w)
        try:
            if deadline is not None:
                poll_set_deadline(pd, deadline_ns(deadline), (READ,))
            while True:
                got = poll_wait(pd, READ)
                if w.closed:
                    return _CLOSED, w.closed
                if w.changed:
                    return _CHANGED, None
                if got == POLL_ERR_TIMEOUT:
                    return _TIMEOUT, None
                if ep.poll(0):  # (all of them: an edge is reported once)
                    r = answer()
                    if r is not None:
                        return _READY, r
        finally:
            for fd in masks:
                ws = _watchers[fd]
                ws.remove(w)
                if not ws:
                    del _watchers[fd]
            if sel is not None:
                ws = _sel_waits[id(sel)]
                ws.remove(w)
                if not ws:
                    del _sel_waits[id(sel)]
            poll_unblock(pd)
            poll_close(pd)
    finally:
        ep.close()


def select(rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None,
           /) -> tuple[list[Any], list[Any], list[Any]]:
    """As select.select (lists of ready objects; timeout in seconds, None: no limit);
    on a goroutine a wait parks the goroutine only. A gort socket closed by another
    goroutine wakes the wait with the stdlib's answer for a closed descriptor:
    ValueError for an object whose fileno() is now -1, OSError(EBADF) for a number."""
    if timeout == 0 or not _on_goroutine():
        return _std_select(rlist, wlist, xlist, timeout)
    if timeout is not None:
        _std_select([], [_PROBE_FD], [], timeout)  # the timeout's checks come first
    ready = _std_select(rlist, wlist, xlist, 0)  # the stdlib's argument checks and errors
    if ready[0] or ready[1] or ready[2]:
        return ready
    deadline = None if timeout is None else monotonic() + timeout
    pairs = ([(_fileno(o), _EP_READ) for o in rlist] + [(_fileno(o), _EP_WRITE) for o in wlist]
             + [(_fileno(o), _select.EPOLLPRI) for o in xlist])

    def answer() -> Any:
        ready = _std_select(rlist, wlist, xlist, 0)  # an object closed: its ValueError
        return ready if ready[0] or ready[1] or ready[2] else None

    while True:
        kind, got = _wait_fds(pairs, deadline, answer)
        if kind == _READY:
            return got  # type: ignore[no-any-return]
        if kind == _TIMEOUT:
            return [], [], []
        # Closed under the wait: the number may be reused already; what is asked
        # now is what the stdlib says for a closed descriptor.
        now = {_fileno(o) for o in (*rlist, *wlist, *xlist)}
        if now & got:
            raise _ebadf()
        ready = answer()
        if ready is not None:
            return ready  # type: ignore[no-any-return]


class poll:
    """As the object ``select.poll()`` returns; ``poll(timeout)`` (milliseconds, None or
    negative: no limit) parks the goroutine only when it waits on one."""

    __slots__ = ("_fds", "_p")

    def __init__(self) -> None:
        self._p = _std_poll()
        self._fds: dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = _select.POLLIN | _select.POLLPRI
                 | _select.POLLOUT, /) -> None:
        """Watch fd (an int or an object with fileno()) for eventmask."""
        self._p.register(fd, eventmask)
        self._fds[_fileno(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int, /) -> None:
        """Change the events watched on a registered fd."""
        self._p.modify(fd, eventmask)
        self._fds[_fileno(fd)] = eventmask

    def unregister(self, fd: Any, /) -> None:
        """Stop watching fd (KeyError if it was not registered)."""
        self._p.unregister(fd)
        del self._fds[_fileno(fd)]

    def poll(self, timeout: float | None = None, /) -> list[tuple[int, int]]:
        """[(fd, events)] of the ready descriptors; [] after timeout milliseconds."""
        if timeout == 0 or not _on_goroutine():
            return self._p.poll(timeout)
        if timeout is not None:
            _PROBE_POLL.poll(timeout)  # the stdlib's checks of the timeout
        ready = self._p.poll(0)
        if ready:
            return ready
        deadline = None if timeout is None or timeout < 0 else monotonic() + timeout / 1000
        pairs = [(fd, ev & _EP_POLL_BITS) for fd, ev in self._fds.items()]
        kind, got = _wait_fds(pairs, deadline, lambda: self._p.poll(0) or None)
        if kind == _READY:
            return got  # type: ignore[no-any-return]
        if kind == _TIMEOUT:
            return []
        # Closed under the wait: POLLNVAL, as poll(2) says for a closed descriptor,
        # whatever the kernel has reused the number for since.
        events = dict(self._p.poll(0))
        return [(fd, _select.POLLNVAL if fd in got else events[fd])
                for fd in self._fds if fd in got or fd in events]


def selector_select_of(orig: Callable[..., Any]) -> Callable[..., Any]:
    """A selectors.BaseSelector.select that parks the goroutine, calling orig (the class's
    own select) with timeout 0 for the answer. Used by gort.patch and gort.socketserver."""
    orig = getattr(orig, "_gort_original", orig)

    def select(self: _selectors.BaseSelector,
               timeout: float | None = None) -> list[tuple[_selectors.SelectorKey, int]]:
        if (timeout is not None and timeout <= 0) or not _on_goroutine():
            return orig(self, timeout)  # type: ignore[no-any-return]
        if timeout is not None:
            _check_selector_timeout(type(self), orig, timeout)
        ready = orig(self, 0)
        if ready:
            return ready  # type: ignore[no-any-return]
        deadline = None if timeout is None else monotonic() + timeout
        gone: set[int] = set()  # closed under the wait (by a gort socket)

        def answer() -> Any:
            if self.get_map() is None:
                return []  # closed under the wait: nothing to report (and no epoll to ask)
            return [kv for kv in orig(self, 0) if kv[0].fd not in gone] or None

        pairs: list[tuple[int, int]] = []
        while True:
            # A closed selector (its map None) has no keys: the stdlib's answer is []
            # whatever it still polls, at its timeout; closed under the wait, the kernel's
            # wait goes on over what it had, and a descriptor coming ready ends it with
            # [] (so the pairs of the last look stay).
            keys = self.get_map()
            if keys is not None:
                pairs = [(key.fd, (_EP_READ if key.events & _selectors.EVENT_READ else 0)
                          | (_EP_WRITE if key.events & _selectors.EVENT_WRITE else 0))
                         for key in keys.values() if key.fd not in gone]
            kind, got = _wait_fds(pairs, deadline, answer, self)
            if kind == _READY:
                return got  # type: ignore[no-any-return]
            if kind == _TIMEOUT:
                return []
            if kind == _CLOSED:
                gone |= got
                ready = _closed_keys(self, got) + (answer() or [])
            else:  # _CHANGED: look again
                ready = answer() or []
            if ready:
                return ready  # type: ignore[no-any-return]

    select.__doc__ = orig.__doc__
    select.__qualname__ = getattr(orig, "__qualname__", "select")
    select._gort_original = orig  # type: ignore[attr-defined]
    return select


def _closed_keys(sel: _selectors.BaseSelector,
                 closed: set[int]) -> list[tuple[_selectors.SelectorKey, int]]:
    """A selector's answer for its keys whose descriptors were closed under the wait,
    without looking at the number (the kernel may have reused it): a SelectSelector
    raises OSError(EBADF) as select(2) does for a closed descriptor, the others report
    the key ready with all its events, as PollSelector does for poll(2)'s POLLNVAL. (The
    stdlib's EpollSelector has the kernel forget the descriptor, and its waiter sleeps
    to the timeout, for good without one; woken, the program's next call on the object
    raises, as after a Go close.)"""
    keys = [k for k in (sel.get_map() or {}).values() if k.fd in closed]
    if keys and isinstance(sel, _selectors.SelectSelector):
        raise _ebadf()
    return [(k, k.events) for k in keys]


class _PollSelector(_selectors.PollSelector):
    """selectors.PollSelector whose select parks the goroutine (patched or not)."""

    select = selector_select_of(_selectors.PollSelector.select)


for _cls in (_selectors.SelectSelector, _selectors.PollSelector,
             getattr(_selectors, "EpollSelector", None), _PollSelector):
    if _cls is not None:
        _probe_selector(_cls)
del _cls


# ---------------------------------------------------------------------------
# The stdlib's functions built on socket, re-bound to this module's names


def rebase(fn: Callable[..., Any], **names: Any) -> Any:
    """A copy of the stdlib function fn whose globals are fn's own with ``names`` replaced
    (its code, defaults and docstring unchanged)."""
    g = dict(fn.__globals__)
    g.update(names)
    new = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__doc__ = fn.__doc__
    new.__qualname__ = fn.__qualname__
    return new


_selectors_ns = types.SimpleNamespace(PollSelector=_PollSelector,
                                      EVENT_WRITE=_selectors.EVENT_WRITE)
_names = {"socket": socket, "getaddrinfo": getaddrinfo}
socket.accept = rebase(_std.socket.accept, **_names)  # type: ignore[method-assign]
_std_sendfile_use_sendfile: Final = rebase(
    _std.socket._sendfile_use_sendfile,  # type: ignore[attr-defined]
    selectors=_selectors_ns)


def _sendfile_use_sendfile(self: socket, file: Any, offset: int = 0,
                           count: int | None = None) -> int:
    switched = self._gort_begin_nonblocking()  # os.sendfile has no MSG_DONTWAIT
    try:
        return _std_sendfile_use_sendfile(self, file, offset, count)  # type: ignore[no-any-return]
    finally:
        self._gort_end_nonblocking(switched)


socket._sendfile_use_sendfile = _sendfile_use_sendfile  # type: ignore[attr-defined]
create_connection = rebase(_std.create_connection, **_names)
create_server = rebase(_std.create_server, **_names)
socketpair = rebase(_std.socketpair, **_names)
fromfd = rebase(_std.fromfd, **_names)
del _names
