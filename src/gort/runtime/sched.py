"""The scheduler object (Go: runtime2.go type schedt, and the ``sched`` global).

All mutable runtime state hangs off one ``Sched``, built by ``schedinit`` and
dropped at teardown, so ``gort.run`` can run twice in a process. The only
module-level mutable state is ``current``, the Sched of the running runtime
(Go's ``sched`` variable); only proc.schedinit and proc.teardown assign it.

``lock`` (Go's sched.lock) guards the fields marked so below: the ones that
threads other than the M touch (offload workers, sysmon). With one M running
goroutines, everything else is written by that M only.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .netpoll import Netpoll

if TYPE_CHECKING:
    from greenlet import greenlet

    from .cgocall import Callback
    from .debug import Debug
    from .g import G
    from .m import M
    from .p import P
    from .syscall import Call
    from .trace import Tracer


class Stats:
    """Counters kept by the runtime; read through gort.runtime statistics."""

    __slots__ = (
        "goroutines_created",
        "preempt_async",
        "preempt_deferred",
        "preempt_requests",
        "preempt_sync",
        "signals_forwarded",
        "signals_sent",
        "sysmon_cpu_ns",
        "sysmon_gil_wait_max_ns",
        "sysmon_gil_wait_total_ns",
        "sysmon_wakeups",
    )

    def __init__(self) -> None:
        self.goroutines_created = 0
        self.preempt_requests = 0  # preemptone calls that marked a G
        self.preempt_sync = 0  # G stopped at a gort call (the synchronous safe point)
        self.preempt_async = 0  # G switched out by the SIGURG handler or its hook
        # deferral reason -> count: why the handler could not stop the G at once
        self.preempt_deferred: dict[str, int] = {}
        self.signals_sent = 0
        self.signals_forwarded = 0  # SIGURGs gort did not send, passed to the old handler
        self.sysmon_wakeups = 0
        self.sysmon_cpu_ns = 0  # CPU time of the sysmon thread
        # How long past its intended wake-up sysmon got to run: the wait for the GIL.
        self.sysmon_gil_wait_max_ns = 0
        self.sysmon_gil_wait_total_ns = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k in self.__slots__
                for v in (getattr(self, k),)}


class Sched:
    """Go's schedt: queues, idle lists, all Ps, all Gs, and the run's settings."""

    def __init__(self, debug: Debug, seed: int | None) -> None:
        self.debug = debug
        self.lock = threading.Lock()
        self.runq: deque[G] = deque()  # global run queue; lock
        # Finished offloaded calls, and calls from other threads (cgocall.Callback); lock.
        self.injectq: deque[Call | Callback] = deque()
        self.npidle = 0  # lock
        self.allp: list[P] = []
        self.allm: list[M] = []
        # Every G with a greenlet or on a free list, in creation order.
        self.allgs: dict[G, None] = {}
        self.m0: M  # set by schedinit
        self.main_g: G | None = None
        self.goidgen = 0
        self.gcount = 0  # goroutines that exist (not dead)
        self.noffload = 0  # offloaded calls in flight; lock
        self.netpoll = Netpoll()
        # select's random source, seedable (GORT_SEED) so a failing interleaving replays.
        self.seed = seed if seed is not None else random.randrange(1 << 32)
        self.rand = random.Random(self.seed)
        self.stats = Stats()
        # The greenlet that called gort.run; None when the runtime started implicitly.
        self.host: greenlet | None = None
        self.closing = False
        self.start_ns = 0
        # sysmon parks here when every P is idle (Go: sched.sysmonwait/sysmonnote).
        self.sysmonwait = False  # lock
        self.sysmonnote = threading.Event()
        # Stop functions of the services started for this run, called in reverse at teardown.
        self.closers: list[Callable[[], None]] = []
        self.sysmon: Any = None  # sysmon.Sysmon
        self.tracer: Tracer | None = None  # trace.Tracer while an execution trace is on
        self.offloader: Any = None  # syscall.Offloader, started by the first offload
        # Generation 0 count (gc.get_count()[0]) past which a collection is due; set by
        # mfinal.Finq, read by every scheduling round (huge: never).
        self.gctrigger = 1 << 62
        # mfinal.Finq: the finalizer goroutine's state (automatic collection, deferred drops).
        self.finq: Any = None
        # schedcheck.schedcheck bound to its level, run at teardown with the M's last
        # curg; or None.
        self.schedcheck: Callable[[Sched, G | None], None] | None = None
        # cgocall.Callback objects queued or running for other threads; lock.
        self.callbacks: set[Any] = set()


current: Sched | None = None
