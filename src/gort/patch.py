"""An opt-in patch that makes the stdlib's network code park goroutines (gort.patch.net).

``net()`` replaces a small, listed surface, once, for the whole process:

=================================  ==============================================
``socket.socket``                  ``gort.socket.socket`` (so ``create_connection``,
                                   ``create_server``, ``socketpair``, ``fromfd``
                                   and ``accept``, which the stdlib builds on the
                                   module's ``socket``, make gort sockets too)
``socket.getaddrinfo``,            gort.socket's: names looked up on offload
``gethostbyname``,                 threads through gort.net's resolver path
``gethostbyname_ex``,              (bounded); numeric hosts in place
``gethostbyaddr``
``ssl.SSLContext.sslsocket_class`` ``gort.socket.SSLSocket`` (CPython's hook:
                                   every context, made before or after)
``select.select``, ``select.poll`` ``gort.socket.select``, ``gort.socket.poll``
``selectors.*Selector.select``     patched in place on each class, so selectors
                                   made before the patch (socketserver's, one
                                   held by a library) park too; the epoll
                                   ones' register/modify/unregister wake
                                   their waiter, as the kernel's epoll does
``time.sleep``                     ``gort.sleep`` on a goroutine
``os.waitpid``                     ``gort.os.waitpid``: waiting for one child parks
                                   the goroutine on a pidfd (CGIHTTPRequestHandler)
=================================  ==============================================

Each replacement behaves exactly as the original on a thread that runs no
goroutines, and on a goroutine when it would not wait (timeout 0, data
ready), so patching cannot change what a program computes, only who waits.

Not patched, and why: ``threading`` (its locks are the runtime's business:
runtime/threadlock.py makes them goroutine-aware during a run, unpatched
threads stay real threads); ``os.read``/``os.write`` on pipes and files and
``subprocess`` itself (gort.exec, and ``gort.offload`` for files: regular
files are not pollable; ``subprocess.run`` from goroutines still waits in
parallel: ``communicate`` selects through the patched selectors and
``Popen.wait`` calls the patched ``os.waitpid``); ``select.epoll``/
``devpoll`` objects used directly (their ``poll`` is the kernel's; selectors
over them are patched); C extensions
that do their own I/O (``mysqlclient``, ``grpc``, ``psycopg2`` without a
wait callback, ``ssl`` over a MemoryBIO is fine): call them through
``gort.offload``; ``socket.getnameinfo``, ``getfqdn``'s own lookups go through
the patched ``gethostbyaddr``.

Patch order. gevent's ``monkey.patch_all`` must run before anything imports
the modules it patches, and its users meet the failures of patching late
(``from socket import socket`` bound early, sockets made before the patch,
ssl imported first). Here: ``gort run --net PROG.py`` patches before the
program imports anything; most of the surface is looked up at call time
by the stdlib and the libraries built on it (``socket.socket``,
``select.poll()``, a selector class's method, the SSL hook on the class), so
it is not order-sensitive at all. What a patch cannot reach is reported: a
``PatchWarning`` names the socket objects that already exist (they stay
plain, their calls block the thread), the program's subclasses of
``socket.socket`` and ``ssl.SSLSocket`` defined before the patch (their base
stays the stdlib's class, so their objects, made before or after, stay
plain), and each module global bound to a replaced function before the
patch (``mymod.sleep`` still the stdlib's).
Rejected: rewriting those globals behind the module's back (gevent's
``patch_item`` per module): it fixes the names it knows and silently misses
the rest (a default argument, a closure, a class attribute).
"""

from __future__ import annotations

import gc
import os
import select
import selectors
import socket
import ssl
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, Final

from . import os as _gos
from . import runtime as _rt
from . import socket as _gs

__all__ = ["PatchWarning", "net", "patched"]

_std_sleep: Final = time.sleep
_patched = False


class PatchWarning(RuntimeWarning):
    """gort.patch.net() found what it cannot patch: sockets that already exist, subclasses
    of socket.socket or ssl.SSLSocket defined already, module globals bound to a
    replaced function before the patch."""


_MAX_SLEEP_S: Final = 9_223_372_036


def _sleep(secs: float, /) -> None:
    """As time.sleep; on a goroutine, the goroutine sleeps (gort.sleep), not the thread."""
    # Beyond _MAX_SLEEP_S (2**63 ns) the stdlib raises OverflowError; NaN fails >= 0.
    if type(secs) in (int, float) and 0 <= secs <= _MAX_SLEEP_S and _gs._on_goroutine():
        _rt.time_sleep(secs)
    else:
        _std_sleep(secs)


_sleep.__name__ = _sleep.__qualname__ = "sleep"

# (module, attribute, replacement): the listed surface, in the module essay's order.
_SURFACE: Final[tuple[tuple[Any, str, Any], ...]] = (
    (socket, "socket", _gs.socket),
    (socket, "getaddrinfo", _gs.getaddrinfo),
    (socket, "gethostbyname", _gs.gethostbyname),
    (socket, "gethostbyname_ex", _gs.gethostbyname_ex),
    (socket, "gethostbyaddr", _gs.gethostbyaddr),
    (select, "select", _gs.select),
    (select, "poll", _gs.poll),
    (time, "sleep", _sleep),
    (os, "waitpid", _gos.waitpid),
)

# Bound before any patch and harmless: subprocess polls with WNOHANG only.
_BOUND_EARLY_OK: Final = frozenset({"subprocess._waitpid"})


def patched() -> bool:
    """True once net() has run in this process."""
    return _patched


def net() -> None:
    """Patch the stdlib's network surface for goroutines (see the module docstring).

    Idempotent; process-wide, for the rest of the process (nothing to undo:
    every replacement is the original off goroutines). Warns with a
    ``PatchWarning`` naming the socket objects that exist already, the
    subclasses of ``socket.socket``/``ssl.SSLSocket`` defined already, and the
    module globals bound to a replaced function: those keep blocking the
    thread. ``gort run --net PROG.py`` calls this before PROG imports anything.
    """
    global _patched
    if _patched:
        return
    late = _existing_sockets() + _early_subclasses() + _bound_early()
    for mod, name, new in _SURFACE:
        setattr(mod, name, new)
    ssl.SSLContext.sslsocket_class = _gs.SSLSocket
    for cls in _selector_classes():
        cls.select = _gs.selector_select_of(cls.__dict__["select"])  # type: ignore[method-assign]
    for cls in _epoll_like_selector_classes():
        # The kernel shows an epoll waiter a register/modify at once; select and poll
        # take their lists at the call (Select/PollSelector's waiters see no change).
        for name in ("register", "modify", "unregister"):
            setattr(cls, name, _gs.selector_kicking(getattr(cls, name)))
    _patched = True
    if late:
        shown = late[:8] + ([f"... {len(late) - 8} more"] if len(late) > 8 else [])
        warnings.warn(PatchWarning(
            "gort.patch.net() was called after these existed, and they keep blocking the "
            "thread: " + "; ".join(shown) + ". Patch before they are made or imported: run "
            "the program with `gort run --net PROG.py`, or call gort.patch.net() first "
            "thing."), stacklevel=2)


def _selector_classes() -> list[type[selectors.BaseSelector]]:
    """The selectors classes with a select of their own (Select, _PollLike, Epoll ...)."""
    return [obj for obj in vars(selectors).values()
            if isinstance(obj, type) and issubclass(obj, selectors.BaseSelector)
            and obj is not selectors.BaseSelector and "select" in obj.__dict__]


def _epoll_like_selector_classes() -> list[type[selectors.BaseSelector]]:
    """The selectors classes over a kernel queue a waiter sees changes of at once."""
    return [getattr(selectors, n) for n in ("EpollSelector", "DevpollSelector",
                                            "KqueueSelector") if hasattr(selectors, n)]


def _existing_sockets() -> list[str]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and not isinstance(obj, _gs.socket):
            try:
                if obj.fileno() < 0:
                    continue
            except Exception:  # a half-made object
                continue
            found.append(f"socket object {obj!r}")
    return found


def _early_subclasses() -> list[str]:
    """The program's subclasses of socket.socket and ssl.SSLSocket made before the patch
    (depth first from socket.socket): their base is still the stdlib's class, so their objects,
    made before or after, keep blocking the thread. A class made after the patch
    subclasses gort's and is not named; ssl.SSLSocket itself goes through the
    sslsocket_class hook."""
    found: list[str] = []
    seen: set[Any] = set()

    def walk(cls: Any) -> None:
        for sub in cls.__subclasses__():
            if sub in seen or issubclass(sub, _gs.socket):
                continue
            seen.add(sub)
            if sub is not ssl.SSLSocket:
                base = "ssl.SSLSocket" if issubclass(sub, ssl.SSLSocket) else "socket.socket"
                found.append(f"class {sub.__module__}.{sub.__qualname__} (a subclass of "
                             f"{base}: its objects stay plain)")
            walk(sub)

    walk(socket.socket)
    return found


def _bound_early() -> list[str]:
    """module.name for every module global bound to a function net() replaces."""
    originals: dict[int, str] = {}
    for mod, name, _new in _SURFACE:
        fn: Callable[..., Any] = getattr(mod, name)
        originals[id(fn)] = f"{mod.__name__}.{name}"
    found = []
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname in ("socket", "_socket", "select", "time", "ssl", "os",
                                      "posix") \
                or modname == "gort" or modname.startswith("gort."):
            continue  # the patched modules (_socket: socket's C half) and ssl, whose
            # `socket` is SSLSocket's base and whose functions look names up at call time;
            # posix: os's C half
        try:
            items = list(vars(mod).items())
        except TypeError:
            continue
        for name, value in items:
            where = originals.get(id(value))
            if where is not None and f"{modname}.{name}" not in _BOUND_EARLY_OK:
                found.append(f"{modname}.{name} (bound to {where})")
    return found
