"""socketserver and http.server handlers as goroutines (the analogue of ThreadingMixIn).

``GoroutineMixIn`` before a server class (``class S(GoroutineMixIn,
socketserver.TCPServer)``) runs each request's handler in a goroutine of
its own, where ``ThreadingMixIn`` starts a thread. It works with or
without gort.patch.net(): the listening socket becomes a
``gort.socket.socket`` when the server binds (so ``accept`` returns gort
sockets, whose reads and writes park the handler's goroutine), and
``serve_forever``/``handle_request`` are the stdlib's own, re-bound to a
selector that parks the serving goroutine (gort.socket.rebase).
``shutdown()`` from another goroutine waits on the stdlib's
``threading.Event``, goroutine-aware during a run (runtime/threadlock.py).

A handler that computes for seconds does not hold the others up: the
scheduler preempts it. Its uncaught exception goes to ``handle_error``, as
with threads (not a goroutine panic: a server outlives a bad request), and
``sys.exit()`` in a handler ends that handler only, silently, as it ends
only its thread under ThreadingMixIn (a goroutine's SystemExit would end the
program). KeyboardInterrupt is not the handler's: Ctrl-C raises it in the
main goroutine (gort's signal rule, as CPython raises it in the main
thread), and one a handler raises itself goes to main too and ends the
program unless main catches it (under ThreadingMixIn it would end that
thread with a traceback).
``server_close`` waits for the running handlers when ``block_on_close`` is
true (the default, as ThreadingMixIn's), from a goroutine; GoroutineHTTPServer's is
false, as ThreadingHTTPServer's daemon threads are not waited for.
``serve_forever`` called on a plain thread while no runtime runs (a server in a
background thread) runs its loop under a runtime of that thread: every request was
dropped there before (``go`` had no runtime; handle_error closed each connection).
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import ssl
from typing import Any

from . import current_id, go
from . import net as _net
from . import runtime as _rt
from . import socket as _gs
from .sync.waitgroup import WaitGroup

__all__ = ["GoroutineHTTPServer", "GoroutineMixIn", "GoroutineTCPServer"]


class GoroutineMixIn:
    """Mix-in for socketserver servers: one goroutine per request (Go: net/http's
    ``go c.serve(ctx)`` per connection). Put it first among the bases."""

    block_on_close = True
    """server_close() waits for the handlers still running (called from a goroutine)."""

    request_queue_size = _net._somaxconn()
    """listen()'s backlog: the system's maximum, as Go's net.Listen (the stdlib's 5 drops
    the SYNs of a burst of clients, who retry a second later)."""

    _gort_handlers: WaitGroup | None = None
    _gort_handler_ids: set[int] | None = None  # goroutines running a request right now

    # The stdlib's loops, with a selector that parks the goroutine instead of the thread.
    _serve_forever = _gs.rebase(socketserver.BaseServer.serve_forever,
                                _ServerSelector=_gs._PollSelector)
    _handle_request = _gs.rebase(socketserver.BaseServer.handle_request,
                                 _ServerSelector=_gs._PollSelector)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """The stdlib's loop, its waits parking the goroutine; handlers in goroutines.

        Called on a thread that runs no goroutine while no runtime runs (the common
        ``threading.Thread(target=server.serve_forever).start()``), it runs the loop as
        the main goroutine of a runtime on that thread, for as long as it serves.
        RuntimeError where a runtime runs on another thread (one runtime per process):
        start the loop with ``gort.go(server.serve_forever)`` there instead.
        """
        _on_runtime(self._serve_forever, poll_interval)

    def handle_request(self) -> None:
        """The stdlib's handle_request, as serve_forever runs its loop."""
        _on_runtime(self._handle_request)

    def server_bind(self) -> None:
        """Make the listening socket a gort.socket.socket, then bind as the server does."""
        sock: Any = getattr(self, "socket")  # noqa: B009 (set by the server class)
        if not isinstance(sock, _gs.socket):
            timeout = sock.gettimeout()
            new = _gs.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
            new.settimeout(timeout)
            setattr(self, "socket", new)  # noqa: B010
        super().server_bind()  # type: ignore[misc]

    def get_request(self) -> tuple[Any, Any]:
        """Accept as the server does. A listener the program wrapped after binding with
        a stdlib context (``server.socket = ctx.wrap_socket(server.socket,
        server_side=True)``, as http.server's docs show) hands out gort TLS sockets
        anyway (gort.socket.SSLSocket, with the listener's handshake settings): the
        stdlib's would block the thread in every TLS read of every handler, without
        gort.patch.net()."""
        sock: Any = getattr(self, "socket")  # noqa: B009
        if type(sock) is not ssl.SSLSocket:
            return super().get_request()  # type: ignore[misc,no-any-return]
        conn, addr = socket.socket.accept(sock)  # the plain connection, not yet wrapped
        timeout = conn.gettimeout()
        plain = _gs.socket(conn.family, conn.type, conn.proto, fileno=conn.detach())
        plain.settimeout(timeout)
        try:
            tls = _gs.SSLSocket._create(  # type: ignore[attr-defined]
                sock=plain, server_side=True, context=sock.context,
                do_handshake_on_connect=getattr(sock, "do_handshake_on_connect", True),
                suppress_ragged_eofs=getattr(sock, "suppress_ragged_eofs", True))
        except BaseException:
            plain.close()
            raise
        return tls, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start the request's goroutine (process_request_goroutine) and return."""
        wg = self._gort_handlers
        if wg is None:
            wg = self._gort_handlers = WaitGroup()
        wg.add(1)
        go(self.process_request_goroutine, request, client_address, wg)

    @_rt.user_code_boundary  # the handler is the program's code: preemptible
    def process_request_goroutine(self, request: Any, client_address: Any,
                                  wg: WaitGroup) -> None:
        """finish_request, handle_error on an exception, then shutdown_request (the
        goroutine's body; ThreadingMixIn.process_request_thread's)."""
        ids = self._gort_handler_ids
        if ids is None:
            ids = self._gort_handler_ids = set()
        me = current_id()
        ids.add(me)
        try:
            self.finish_request(request, client_address)  # type: ignore[attr-defined]
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[attr-defined]
        except SystemExit:
            pass  # ends this handler only, silently, as a thread's (threading ignores it)
        finally:
            ids.discard(me)
            self.shutdown_request(request)  # type: ignore[attr-defined]
            wg.done()

    def server_close(self) -> None:
        """Close the listening socket; with block_on_close, wait for running handlers."""
        super().server_close()  # type: ignore[misc]
        wg = self._gort_handlers
        if self.block_on_close and wg is not None and _gs._on_goroutine():
            ids = self._gort_handler_ids
            if ids and current_id() in ids:
                # ThreadingMixIn raises here too ("cannot join current thread"): the wait
                # would be for this very handler, forever.
                raise RuntimeError(
                    "gort.socketserver: server_close() from a request handler would wait for "
                    "that handler itself (block_on_close); call it outside the handlers, e.g. "
                    "after serve_forever returns (shutdown() from a handler stops that), or "
                    "set block_on_close = False")
            wg.wait()


def _on_runtime(loop: Any, *args: Any) -> None:
    if _gs._on_goroutine():
        loop(*args)
    elif _rt.running() is None:
        _rt.run(loop, args, {})
    else:
        raise RuntimeError(
            "gort.socketserver: serve_forever/handle_request on a thread while gort runs on "
            "another one: the handlers' goroutines need that runtime. Start the loop as a "
            "goroutine (gort.go(server.serve_forever)), or use socketserver.ThreadingMixIn")


class GoroutineTCPServer(GoroutineMixIn, socketserver.TCPServer):
    """socketserver.TCPServer with a goroutine per request."""


class GoroutineHTTPServer(GoroutineMixIn, http.server.HTTPServer):
    """http.server.HTTPServer with a goroutine per request (ThreadingHTTPServer's analogue).

    As ThreadingHTTPServer (daemon threads), ``server_close`` does not wait for the
    handlers: an HTTP/1.1 client's idle keep-alive connection would hold it (and a
    Ctrl-C around ``with server: server.serve_forever()``) for as long as it stays open.
    """

    block_on_close = False
