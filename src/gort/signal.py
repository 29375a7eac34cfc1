"""Incoming signals as channel values (Go: os/signal).

``notify(ch, *signals)`` relays the given signals to the gort channel
``ch``: each arrival is one non-blocking send of the ``signal.Signals``
value. A send that would block is dropped (Go's semantics), so ``ch``
should be buffered; ``gort.stats()["signal_dropped"]`` counts the drops.
Several channels may be registered for a signal, and a channel for several
signals. Delivery happens on gort's thread at a safe point, never inside
the runtime's own code, from whichever goroutine runs then; the receiving
goroutine can be any goroutine::

    sigs = gort.Chan(1)
    gort.signal.notify(sigs, signal.SIGINT, signal.SIGTERM)
    sig = sigs.recv()          # signal.SIGINT on Ctrl-C; no KeyboardInterrupt

While a signal has a channel, its default action is not taken (Ctrl-C
raises no KeyboardInterrupt, SIGTERM does not end the process), as in Go; a
Python handler the program installed with ``signal.signal`` still runs,
after the delivery. While any channel is registered, goroutines blocked
with nothing else to wake them are not reported as a deadlock (a signal
may come), as in Go.

All four functions must be called from a goroutine of a runtime running on
the main thread (CPython delivers signals there only), and raise
``TypeError`` for a ``ch`` that is not a ``gort.Chan`` or a signal that is
not an int, ``ValueError`` for a signal number the platform does not have,
for SIGKILL and SIGSTOP (they cannot be caught) and for SIGURG (gort's
preemption signal), and ``RuntimeError`` when the runtime is not on the
main thread. Registrations end with the run.
"""

from __future__ import annotations

import signal
from typing import Any

from . import runtime as _rt
from .runtime.sigqueue import SigQueue, catchable

__all__ = ["ignore", "notify", "reset", "stop"]

_VALID = frozenset(int(s) for s in signal.valid_signals())


def _sigqueue(fn: str) -> SigQueue:
    s = _rt.current_sched()
    q: SigQueue | None = s.sigqueue
    if q is None:
        raise RuntimeError(f"gort.signal.{fn}: the runtime is not on the main thread, where "
                           "CPython delivers signals; call gort.run from the main thread")
    return q


def _check(fn: str, sigs: tuple[Any, ...]) -> list[int]:
    out = []
    for sig in sigs:
        if isinstance(sig, bool) or not isinstance(sig, int):
            raise TypeError(f"gort.signal.{fn}: {sig!r} is not a signal; pass signal "
                            "numbers such as signal.SIGINT")
        n = int(sig)
        if n not in _VALID:
            raise ValueError(f"gort.signal.{fn}: {n} is not a signal number on this "
                             "platform (see signal.valid_signals())")
        if n in (signal.SIGKILL, signal.SIGSTOP):
            raise ValueError(f"gort.signal.{fn}: {signal.Signals(n).name} cannot be caught "
                             "or ignored")
        if n == signal.SIGURG:
            raise ValueError(f"gort.signal.{fn}: SIGURG is gort's preemption signal; use "
                             "signal.signal(signal.SIGURG, handler) to see the SIGURGs gort "
                             "did not send")
        out.append(n)
    return out


def _all() -> list[int]:
    return sorted(n for n in _VALID if catchable(n))


def notify(ch: _rt.Chan[Any], *signals: int) -> None:
    """Relay the given signals to ch, never blocking (Go: signal.Notify).

    With no signals, every signal a Python program can catch is relayed
    (all of ``signal.valid_signals()`` but SIGKILL, SIGSTOP, SIGURG and the
    fault signals SIGSEGV, SIGBUS, SIGFPE and SIGILL). Values sent are
    ``signal.Signals`` members (a plain int for a real-time signal). Calling
    it again for the same channel adds signals.

    Raises TypeError, ValueError or RuntimeError as the module says.
    """
    if not isinstance(ch, _rt.Chan):
        raise TypeError(f"gort.signal.notify: ch must be a gort.Chan, got {ch!r}; e.g. "
                        "sigs = gort.Chan(1); gort.signal.notify(sigs, signal.SIGINT)")
    sigs = _check("notify", signals) if signals else _all()
    _sigqueue("notify").notify_add(ch, sigs)


def stop(ch: _rt.Chan[Any]) -> None:
    """Stop relaying signals to ch (Go: signal.Stop).

    Once it returns no more signals are sent to ch. A signal with no channel
    left goes back to the program's own handler (``signal.signal``'s, or the
    default). A ch never registered is a no-op. Raises TypeError for a
    non-channel.
    """
    if not isinstance(ch, _rt.Chan):
        raise TypeError(f"gort.signal.stop: ch must be a gort.Chan, got {ch!r}")
    _sigqueue("stop").notify_stop(ch)


def ignore(*signals: int) -> None:
    """Ignore the given signals (all catchable ones if none) (Go: signal.Ignore).

    The process ignores them (SIG_IGN) and no channel receives them; undoes
    ``notify`` for them. ``reset`` or a later ``notify`` or ``signal.signal``
    for a signal ends its ignoring.
    """
    sigs = _check("ignore", signals) if signals else _all()
    _sigqueue("ignore").ignore(sigs)


def reset(*signals: int) -> None:
    """Undo notify and ignore for the given signals (all if none) (Go: signal.Reset).

    Each signal goes back to the program's own handler: the one installed
    with ``signal.signal`` (before or during the run), or the default.
    """
    sigs = _check("reset", signals) if signals else _all()
    _sigqueue("reset").reset(sigs)
