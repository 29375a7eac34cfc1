"""SIGURG: sending preemption requests and owning the handler politely (Go: signal_unix.go).

Why SIGURG (Go's reasoning, which holds here): debuggers and tools pass it
through, the C library does not use it, programs rarely do, and its default
action is to ignore it, so a stray one is harmless.

- ``install`` (at start, on the main thread only: CPython runs Python signal
  handlers on the main thread) saves the old handler and sets SA_RESTART
  (``siginterrupt(SIGURG, False)``), so gort's signals do not make the
  program's blocking system calls fail with EINTR.
- ``preempt_m`` (sysmon) is Go's preemptM: set ``mp.signal_pending`` and
  ``pthread_kill(SIGURG)``; at most one signal is in flight per M.
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

import ctypes
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from .m import M
from .preempt import Preempter
from .sched import Sched
from .traceback import goroutine_dump

SIGPREEMPT = signal.SIGURG  # Go: sigPreempt

# The originals: sigqueue.py patches signal.signal and signal.getsignal while a run
# lasts, and gort's own handlers must see the real dispositions.
real_signal = signal.signal
real_getsignal = signal.getsignal


_PENDING_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class Signals:
    """gort's SIGURG handler for one run."""

    def __init__(self, s: Sched, preempter: Preempter) -> None:
        self.s = s
        self.preempter = preempter
        self.prev: Any = signal.SIG_DFL
        self.installed = False
        self.reinstall_asked = False
        # Kept alive as long as a pending call may refer to it.
        self._reinstall_cb = _PENDING_CALL(self._pending_reinstall)
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

    def _pending_reinstall(self, _arg: object) -> int:
        self.reinstall_asked = False
        if self.installed:
            self.reinstall()
        return 0

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

    def preempt_m(self, mp: M) -> bool:
        """Ask mp's thread to preempt its G (Go: preemptM). Called by sysmon."""
        if mp.signal_pending:
            return False  # one in flight already
        if not self.owned():
            if not self.reinstall_asked:
                self.reinstall_asked = True
                self._add_pending_call(self._reinstall_cb, None)
            return False
        mp.signal_pending = True
        signal.pthread_kill(mp.tid, SIGPREEMPT)
        self.s.stats.signals_sent += 1
        return True

    def sighandler(self, signum: int, frame: FrameType | None) -> None:
        """Python-level SIGURG handler (Go: sighandler -> doSigPreempt)."""
        mp = self.s.m0
        if not mp.signal_pending:
            self.forward(signum, frame)
            return
        mp.signal_pending = False
        self.preempter.do_sig_preempt(frame)

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
