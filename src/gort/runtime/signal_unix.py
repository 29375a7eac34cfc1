"""SIGURG: sending preemption requests and owning the handler politely (Go: signal_unix.go).

Why SIGURG (Go's reasoning, which holds here): debuggers and tools pass it
through, the C library does not use it, programs rarely do, and its default
action is to ignore it, so a stray one is harmless.

- ``install`` (at start, on the main thread only: CPython runs Python signal
  handlers on the main thread) saves the old handler and sets SA_RESTART
  (``siginterrupt(SIGURG, False)``), so gort's signals do not make the
  program's blocking system calls fail with EINTR.
- ``preempt_m`` (sysmon) is Go's preemptM: set ``mp.signal_pending`` and
  deliver SIGURG to the M's thread; at most one is in flight per M. The
  delivery is ``_thread.interrupt_main(SIGURG)``, CPython's own "a signal
  arrived" flag without a kernel signal: the handler runs at the M's next
  eval-breaker check exactly as after a real delivery, but no system call
  of the M is interrupted, so foreign C code (a ctypes ``nanosleep``,
  ``poll``) never sees EINTR from gort, whatever sysmon believes the M is
  doing. The one real signal is for an M blocked waiting for a thread lock
  (sysmon.py): ``pthread_kill`` without SA_RESTART (an untimed futex wait
  swallows a restartable one), sent even while another is in flight.
- ``sighandler`` tells gort's signals from the program's by
  ``signal_pending``: every SIGURG gort did not send goes to the previous
  handler (Go: sigfwd). If the program installs its own SIGURG handler after
  start, sysmon sees that before sending, sends nothing, and the M puts
  gort's handler back at its next scheduling round with the program's as the
  one it forwards to; so that handler still receives every SIGURG gort did
  not send, and none that it did.
- ``close`` restores the previous handler, only if gort's is still installed.

The kernel merges a standard signal that arrives while one is pending, so a
program's SIGURG sent at the very instant gort's is in flight can be merged
into it; no signal API can tell the two apart then.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Final

from . import proc
from . import sched as _sched
from .m import M
from .preempt import Preempter
from .sched import Sched
from .traceback import goroutine_dump

SIGPREEMPT = signal.SIGURG  # Go: sigPreempt
# How many times the handler asks again by itself for one request of sysmon's, when its
# answer found nothing to hook where the G leaves within an event (Preempter.retry_soon).
RETRIP_MAX: Final = 200

# The originals: sigqueue.py patches signal.signal and signal.getsignal while a run
# lasts, and gort's own handlers must see the real dispositions.
real_signal = signal.signal
real_getsignal = signal.getsignal


_PENDING_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


def _running_signals() -> Signals | None:
    s = _sched.current
    mon = s.sysmon if s is not None else None
    sig: Signals | None = getattr(mon, "signals", None)
    return sig


def _pending_reinstall(_arg: object) -> int:
    sig = _running_signals()
    if sig is not None:
        sig.pending_reinstall()
    return 0


# CPython's PyErr_SetInterruptEx(signum) as a pending call, the signal number in the
# pointer argument (an int argument and a pointer one share the first argument register
# on x86-64 and arm64): no Python code runs in it (sighandler).
_RETRIP_CB: Final = ctypes.cast(ctypes.pythonapi.PyErr_SetInterruptEx, _PENDING_CALL)

# Module-level, created once: a pending call queued just before a run ends runs after
# that run's objects are gone; it finds the running Signals (if any) itself.
_REINSTALL_CB: Final = _PENDING_CALL(_pending_reinstall)


class Signals:
    """gort's SIGURG handler for one run."""

    def __init__(self, s: Sched, preempter: Preempter) -> None:
        self.s = s
        self.preempter = preempter
        self.prev: Any = signal.SIG_DFL
        self.installed = False
        self.reinstall_asked = False
        self.lock_wait = False  # the signal in flight was sent without SA_RESTART
        self.retrips = 0  # the handler's own requests since sysmon's last (sighandler)
        add = ctypes.pythonapi.Py_AddPendingCall
        add.restype = ctypes.c_int
        add.argtypes = [_PENDING_CALL, ctypes.c_void_p]
        self._add_pending_call = add

    def install(self) -> bool:
        """Install the handler; False if not on the main thread (no async preemption)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        prev = real_getsignal(SIGPREEMPT)
        self.prev = signal.SIG_DFL if prev is None else prev
        real_signal(SIGPREEMPT, self.sighandler)
        signal.siginterrupt(SIGPREEMPT, False)
        self.installed = True
        return True

    def owned(self) -> bool:
        """gort's handler is the one installed (readable from any thread)."""
        return real_getsignal(SIGPREEMPT) == self.sighandler

    def pending_reinstall(self) -> None:
        self.reinstall_asked = False
        if self.installed:
            self.reinstall()

    def reinstall(self) -> None:
        """Put gort's handler back in front of one the program installed after start."""
        cur = real_getsignal(SIGPREEMPT)
        if cur == self.sighandler:
            return
        self.prev = signal.SIG_DFL if cur is None else cur
        real_signal(SIGPREEMPT, self.sighandler)
        signal.siginterrupt(SIGPREEMPT, False)

    def set_forward(self, handler: Any) -> Any:
        """The program installs a SIGURG handler (signal.signal, patched): forward to it."""
        old = self.prev
        self.prev = handler
        return old

    def close(self) -> None:
        if self.installed and self.owned():
            real_signal(SIGPREEMPT, self.prev)
        self.installed = False

    def preempt_m(self, mp: M, lock_wait: bool = False) -> bool:
        """Ask mp's thread to preempt its G (Go: preemptM). Called by sysmon.

        ``lock_wait``: the M is blocked in a thread lock's acquire (sysmon.py).
        An untimed futex wait is restarted by the kernel under SA_RESTART, so
        the handler would never run; this one signal goes without SA_RESTART,
        which the handler puts back first thing.
        """
        if mp.signal_pending and not lock_wait:
            return False  # one in flight already (a lock wait may have swallowed it: the
            # kernel restarts an untimed futex wait, so its handler waits for the lock)
        if not self.owned():
            if not self.reinstall_asked:
                self.reinstall_asked = True
                self._add_pending_call(_REINSTALL_CB, None)
            return False
        mp.signal_pending = True
        self.retrips = 0
        if lock_wait:
            self.lock_wait = True
            signal.siginterrupt(SIGPREEMPT, True)
            signal.pthread_kill(mp.tid, SIGPREEMPT)
        else:
            # No kernel signal: trip CPython's flag for SIGURG, as a delivery would, so
            # the handler runs at the M's next eval-breaker check, and no system call
            # of the M (a foreign nanosleep, poll...) is interrupted (issue 9).
            _thread.interrupt_main(SIGPREEMPT)
        self.s.stats.signals_sent += 1
        return True

    def restore_restart(self) -> None:
        """Put SA_RESTART back after a lock-wait signal (handler, or sysmon if none ran)."""
        if self.lock_wait:
            self.lock_wait = False
            signal.siginterrupt(SIGPREEMPT, False)

    def sighandler(self, signum: int, frame: FrameType | None) -> None:
        """Python-level SIGURG handler (Go: sighandler -> doSigPreempt)."""
        mp = self.s.m0
        if not mp.signal_pending:
            self.forward(signum, frame)
            return
        mp.signal_pending = False
        lock_wait = self.lock_wait
        self.restore_restart()
        if self.s.depth_left.value < proc.PARK_DEPTH:
            # Near the recursion limit: the walk and the switch would raise RecursionError
            # into the program's code. Acknowledge; sysmon asks again later.
            mp.preempt_gen += 1
            return
        pre = self.preempter
        pre.do_sig_preempt(frame, lock_wait)
        if pre.retry_soon and self.retrips < RETRIP_MAX and mp.curg is not None:
            # Nothing to hook where the G leaves within an event (inside a tracer's
            # callback, or in a call under a C tracer): ask again at the M's next
            # eval-breaker check; up to RETRIP_MAX times, then sysmon's pace. Through a pending
            # call, the last call here: the eval-breaker check that follows it runs the
            # pending call (which trips SIGURG's flag) after the signals, so the next
            # handler runs after this one has returned, at the interrupted code's next
            # check. (interrupt_main here ran the handler again at once, nested in this
            # frame, 200 deep.)
            self.retrips += 1
            mp.signal_pending = True
            self._add_pending_call(_RETRIP_CB, SIGPREEMPT)

    def forward(self, signum: int, frame: FrameType | None) -> None:
        """Pass a SIGURG gort did not send to the previous handler (Go: sigfwd)."""
        self.s.stats.signals_forwarded += 1
        prev = self.prev
        if callable(prev):
            prev(signum, frame)
        # SIG_DFL for SIGURG is "ignore"; SIG_IGN ignores: nothing to do.


class QuitDump:
    """SIGQUIT prints every goroutine, as Go's does, then exits 2 (Go: sighandler, dopanic).

    Installed only if the program left SIGQUIT at its default (which would
    kill the process without a word); restored at teardown if still ours.
    """

    def __init__(self, s: Sched) -> None:
        self.s = s
        self.installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if real_getsignal(signal.SIGQUIT) is not signal.SIG_DFL:
            return  # the program's own
        real_signal(signal.SIGQUIT, self.handler)
        self.installed = True

    def handler(self, signum: int, frame: FrameType | None) -> None:
        try:
            sys.stdout.flush()
        finally:
            sys.stderr.write(f"SIGQUIT: quit\n\n{goroutine_dump(self.s)}\n")
            sys.stderr.flush()
            os._exit(2)

    def close(self) -> None:
        if self.installed and real_getsignal(signal.SIGQUIT) == self.handler:
            real_signal(signal.SIGQUIT, signal.SIG_DFL)
        self.installed = False
