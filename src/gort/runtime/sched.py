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

import ctypes
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .lock_futex import Note, mutex
from .netpoll import Netpoll

if TYPE_CHECKING:
    from types import FrameType

    from greenlet import greenlet

    from .cgocall import Callback
    from .debug import Debug
    from .g import G
    from .m import M
    from .p import P
    from .syscall import Call
    from .trace import Tracer


_NOT_TRACING = ctypes.c_int(0)
_UNLIMITED = ctypes.c_int(1 << 30)


class Stats:
    """Counters kept by the runtime; read through gort.runtime statistics."""

    __slots__ = (
        "blocked_looks",
        "blocked_reports",
        "goroutines_created",
        "preempt_async",
        "preempt_deferred",
        "preempt_lock_wait",
        "preempt_requests",
        "preempt_sync",
        "signal_deferred",
        "signal_dropped",
        "signal_handled",
        "signal_notified",
        "signals_forwarded",
        "signals_lock_wait",
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
        # sysmon looks that found the M blocked in a C call (its thread CPU clock still);
        # real signals sent to recover a G waiting for a thread lock, and those answered
        # by switching the G out inside the acquire (sysmon.py)
        self.blocked_looks = 0
        self.signals_lock_wait = 0
        self.preempt_lock_wait = 0
        self.blocked_reports = 0  # "blocked in a call" reports printed (once per call site)
        # The program's signals (sigqueue.py): handlers run, and of those signals the ones
        # that arrived in gort's own code (run later, by the handler goroutine);
        # notify deliveries, and those dropped because the channel was full.
        self.signal_handled = 0
        self.signal_deferred = 0
        self.signal_notified = 0
        self.signal_dropped = 0
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
        self.lock = mutex()
        self.runq: deque[G] = deque()  # global run queue; lock
        # Finished offloaded calls, (G, what it waits on) readied by another thread
        # (proc.ready_foreign), and calls from other threads (cgocall.Callback); lock.
        self.injectq: deque[Call | Callback | tuple[G, Any]] = deque()
        self.npidle = 0  # lock
        self.allp: list[P] = []
        self.allm: list[M] = []
        # Every G with a greenlet or on a free list, in creation order.
        self.allgs: dict[G, None] = {}
        self.m0: M  # set by schedinit
        self.main_g: G | None = None
        # The goroutine whose identity (lock owner, threading.local) is the thread's own:
        # the run's first main goroutine. A fork from another goroutine makes that one the
        # child's main, with its own identity kept (fork.py), as a forked thread keeps its.
        self.thread_g: G | None = None
        self.goidgen = 0
        self.sysgoidgen = 0  # system goroutines' ids: SYSTEM_GOID_BASE + n (proc.newproc)
        self.gcount = 0  # goroutines that exist (not dead)
        self.noffload = 0  # offloaded calls in flight; lock
        # Gs parked on a goroutine-aware thread lock -> that lock (threadlock.py), for
        # checkdead: a thread other than the M may still release it. M only.
        self.lockwaits: dict[G, Any] = {}
        self.netpoll = Netpoll()
        # select's random source, seedable (GORT_SEED) so a failing interleaving replays.
        self.seed = seed if seed is not None else random.randrange(1 << 32)
        self.rand = random.Random(self.seed)
        self.stats = Stats()
        # The greenlet that called gort.run; None when the runtime started implicitly.
        self.host: greenlet | None = None
        # The implicit runtime's end (rt0.implicit_end), what end_with switches to there.
        self.ender: greenlet | None = None
        # Started by `gort run` for a script; hosted counts the script's own gort.run
        # calls in progress (rt0.run: at most one, run in the main goroutine).
        self.script = False
        self.hosted = 0
        # A contained run (gort's pytest plugin): a goroutine's panic is handed to this
        # instead of ending the run, and a deadlock is raised in the main goroutine.
        self.contain: Callable[[BaseException], None] | None = None
        # gort.run's host is leaving (ending: set before teardown is called), teardown
        # began (closing) and ran to its end (torn_down). A teardown an exception cut
        # short, even at its first bytecode (a signal handler's exception lands at any
        # call), is finished by the thread's next run: teardown's arguments are kept.
        self.ending = False
        self.closing = False
        self.torn_down = False
        self.teardown_keep: tuple[greenlet | None, ...] = ()
        self.teardown_curg: G | None = None
        self.start_ns = 0
        # threadlock.goroutine_ident is identbase - goid: negative (thread idents never
        # are), unique per goroutine life and, by the start time, per run.
        self.identbase = 0
        # sysmon parks here when every P is idle (Go: sched.sysmonwait/sysmonnote).
        self.sysmonwait = False  # lock
        self.sysmonnote = Note()
        # Stop functions of the services started for this run, called in reverse at teardown.
        self.closers: list[Callable[[], None]] = []
        self.sysmon: Any = None  # sysmon.Sysmon
        self.preempter: Any = None  # preempt.Preempter, for the synchronous safe points
        # The M's thread's tracing counter (stack.py): non-zero inside a profile, trace or
        # sys.monitoring callback, where no goroutine may park. A plain 0 until start.
        self.tracing: Any = _NOT_TRACING
        # The running goroutine's Python recursion budget (stack.py); proc.getg refuses a
        # gort call with less than proc.RUNTIME_DEPTH left. Unlimited until start.
        self.depth_left: Any = _UNLIMITED
        # The same counter as a one-int memoryview (stack.thread_tracing), set by
        # schedinit on the M's thread: every switch between goroutines raises it by one
        # from the switcher's value and the goroutine switched to restores its own
        # (proc.schedule, execute, gmain, start_main; the C core's park and goexit), so
        # no callback of the program runs on one goroutine's stack while the M's current
        # G names another, and each goroutine resumes with its own tracing state.
        self.tcount: memoryview = memoryview(ctypes.c_int(0)).cast("B").cast("i")
        # Plain RLocks made before the run, held by modules (threadlock.find_raw_rlocks):
        # no asynchronous preemption while the M owns one. Split by kind: C RLocks (asked
        # through one method descriptor, map), threading's Python ones
        # (preempt.Preempter.rlock_owned).
        self.raw_crlocks: tuple[Any, ...] = ()
        self.raw_pyrlocks: tuple[Any, ...] = ()
        # Those of them a goroutine could hold across a park (threading's own are held
        # only inside threading's code), and what gopark calls while one is listed
        # (threadlock.rlock_park_check: a report when the parking G's thread owns one).
        self.park_rlocks: tuple[Any, ...] = ()
        self.on_rlock_park: Callable[[Sched, G, Any], None] | None = None
        self.rlock_park_reported: set[int] = set()  # ids of the locks reported once
        self.tracer: Tracer | None = None  # trace.Tracer while an execution trace is on
        self.offloader: Any = None  # syscall.Offloader, started by the first offload
        # Signals caught in gort's own code, (signum, frame), appended by the Python-level
        # handler (sigqueue.py; no lock: it may interrupt a holder of any lock), and the
        # function that starts the goroutine running them; the scheduler calls it when
        # sigq is not empty. None: the program's handlers are not gort's (no main thread).
        self.sigq: deque[tuple[int, FrameType | None]] = deque()
        self.sigstart: Callable[[], None] | None = None
        # A gort.signal.notify channel is registered (Go: sig.inuse): find_runnable then
        # asks SigQueue.notify_awaited whether a signal could wake a goroutine.
        self.siginuse = False
        self.sigqueue: Any = None  # sigqueue.SigQueue: the program's handlers (gort.signal)
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
        # aio.Base: the thread's asyncio state at the run's start (aio.install).
        self.aio: Any = None


current: Sched | None = None
