"""Errors raised by the runtime (Go: runtime/error.go, panic.go).

The tree users see::

    RuntimeError
     +-- Deadlock               all goroutines are asleep - deadlock!
     +-- ClosedChannelError     send on closed channel / close of closed channel
     +-- NotInGoroutine         a blocking gort call from a thread that runs no goroutines
     +-- Finalizing             a gort call from a finalizer run at interpreter exit
    GortInternalError           a broken runtime invariant: a bug in gort (Go's throw)

Messages use Go's exact words so that people who know Go recognise them, and
add what to do where that helps.
"""

from __future__ import annotations

from typing import Any


class Deadlock(RuntimeError):
    """Every goroutine is blocked and nothing (timer, offloaded call) can wake one.

    ``str(err)`` is Go's message; ``err.goroutines`` holds one report line per
    goroutine (``goroutine 1 [chan receive]:`` and its stack), also attached as
    a note so that a printed traceback shows them.
    """

    def __init__(self, goroutines: str = "") -> None:
        super().__init__("all goroutines are asleep - deadlock!")
        self.goroutines = goroutines
        if goroutines:
            self.add_note(goroutines)


class ClosedChannelError(RuntimeError):
    """An operation on a closed channel that Go makes panic.

    ``send on closed channel`` or ``close of closed channel``.
    """


class NotInGoroutine(RuntimeError):
    """A gort call that needs the calling goroutine came from a thread that runs none.

    Non-blocking operations catch it and run on the runtime's thread instead
    (cgocall.py); a blocking one lets it propagate: the message says what to
    do. ``s`` is the running Sched.
    """

    def __init__(self, s: Any, msg: str) -> None:
        super().__init__(msg)
        self.s = s


class Finalizing(RuntimeError):
    """A gort call made while the interpreter shuts down (a finalizer run at exit), or
    from a finalizer or signal handler run while a run ends (its teardown, or the release
    of the goroutines it abandoned: abandon.reap) or while a runtime starts on the
    thread (before its main goroutine runs: proc.starting).

    No goroutine will run again (abandoned, never resumed), or none runs yet. The
    operations that complete without another goroutine catch it and complete against
    the channel alone (``select`` with ``default``, ``close``: select.select_at_exit); any other
    call lets it propagate.
    """


class GortInternalError(Exception):
    """A runtime invariant broke: this is a bug in gort, please report it (Go: throw)."""


def throw(msg: str) -> GortInternalError:
    """Build the error for a broken invariant; ``raise throw("fn: what")`` (Go: throw)."""
    return GortInternalError(f"fatal error: {msg}")
