"""Where an idle M sleeps, and how other threads wake it (Go: netpoll.go, netpoll_epoll.go).

``poll(delay)`` blocks in the selector until a registered fd is ready, the
delay passes, or another thread calls ``brk`` (Go: netpollBreak), which
writes one byte to a self-pipe. ``wakeup_pending`` is Go's netpollWakeSig: at
most one byte is in flight, so a burst of wake-ups costs one write and one
read. The selector uses no CPU while it waits.

The self-pipe is also CPython's wake-up fd while a run lasts (sigqueue.py):
CPython's C signal handler writes a byte to it for every caught signal,
without the lock and without ``wakeup_pending``, so ``poll`` drains the pipe
whenever the selector reports it readable, not only after a ``brk``.
"""

from __future__ import annotations

import os
import selectors
import threading
from typing import Final

MAX_POLL_S: Final = 86_400.0


class Netpoll:
    """A selector with a self-pipe. ``poll`` is called only by the M that owns it."""

    __slots__ = ("closed", "lock", "rfd", "sel", "wakeup_pending", "wfd")

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.sel.register(self.rfd, selectors.EVENT_READ)
        self.lock = threading.Lock()
        self.wakeup_pending = False
        # Set by close, under lock: a late brk (an offload finishing after the run
        # ended) must not write to a closed, perhaps reused, file descriptor.
        self.closed = False

    def brk(self) -> None:
        """Wake the M blocked in poll, from any thread (Go: netpollBreak)."""
        with self.lock:
            if self.wakeup_pending or self.closed:
                return
            self.wakeup_pending = True
            try:
                os.write(self.wfd, b"\0")
            except BlockingIOError:
                pass  # the pipe is full: a wake-up is already pending

    def poll(self, delay_s: float | None) -> None:
        """Block until a wake-up or ``delay_s`` seconds (None: forever)."""
        if delay_s is not None:
            # epoll takes at most about 24.8 days (ms in an int); a timer further off is
            # simply waited for in several polls (Go's netpoll caps its delay alike).
            delay_s = min(max(delay_s, 0.0), MAX_POLL_S)
        ready = self.sel.select(delay_s)
        with self.lock:
            if self.wakeup_pending or ready:
                self.wakeup_pending = False
                try:
                    while os.read(self.rfd, 256):
                        pass
                except BlockingIOError:
                    pass

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.sel.close()
            os.close(self.rfd)
            os.close(self.wfd)
