"""Machines: OS threads that run goroutines (Go: runtime2.go type m).

An M owns its thread's ``g0``, the scheduler greenlet that starts new
goroutine greenlets on a shallow C stack. A greenlet can never move to
another thread, so a G stays on the M whose thread first ran it.

Fields written by sysmon (another thread) are marked; everything else is
written only on the M's own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlet import greenlet

    from .g import G
    from .p import P


class M:
    """One OS thread that runs goroutines."""

    __slots__ = (
        "armed",
        "curg",
        "g0",
        "id",
        "is_main_thread",
        "locks",
        "p",
        "preempt_gen",
        "signal_pending",
        "tid",
    )

    def __init__(self, mid: int) -> None:
        self.id = mid
        self.tid = threading.get_ident()
        self.is_main_thread = threading.current_thread() is threading.main_thread()
        self.g0: greenlet | None = None
        self.curg: G | None = None
        self.p: P | None = None
        # > 0 while the runtime is in a section that must not be preempted.
        self.locks = 0
        # Go's mp.signalPending: set (by sysmon) before sending SIGURG, cleared by the
        # handler. A SIGURG arriving while it is clear was not sent by gort.
        self.signal_pending = False
        # Go's mp.preemptGen: count of preemption requests the handler has answered.
        self.preempt_gen = 0
        # Disarms the one-shot preemption hook armed on this M's running G (preempt.py).
        self.armed: Callable[[], None] | None = None
