"""Goroutines (Go: runtime2.go type g, the _G* statuses and waitReason).

A G is a greenlet plus the bookkeeping Go keeps in ``g``. Statuses keep Go's
numbers because scheddetail prints them; wait reasons keep Go's strings
because goroutine dumps print them.

Who owns a G's fields: while the G is running, its M; while it is runnable,
the run queue it sits on; while it is waiting, whatever will ``goready`` it
(the channel, timer, semaphore or offload that parked it). Exactly one
``goready`` answers each ``gopark``: either the wait completes, or
``proc.goraise`` cancels it (``waiting.cancel``) and readies the G with an
exception to raise, never both.

A waiting G's ``waiting`` is the object it waits on (Go: ``gp.waiting``, the
sudog list): anything with a ``cancel(gp)`` method that takes the G off every
queue, timer heap or table that could ready it. That is what makes a parked
G interruptible (an exception from a signal handler, Ctrl-C) without leaving
a sudog behind for the next send to be lost into.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from contextvars import Context
    from types import CodeType

    from greenlet import greenlet

    from .m import M


class Gstatus(enum.IntEnum):
    """Go's _G* constants (runtime2.go), same numbers."""

    IDLE = 0  # just allocated, not yet initialised
    RUNNABLE = 1  # on a run queue, not executing user code
    RUNNING = 2  # executing user code, owns an M and a P
    SYSCALL = 3  # in a blocking call on another thread (gort.offload)
    WAITING = 4  # parked in gopark; some object will goready it
    DEAD = 6  # finished; on a P's free list for reuse


class WaitReason(enum.StrEnum):
    """Go's waitReason strings (runtime2.go waitReasonStrings)."""

    ZERO = ""
    CHAN_RECEIVE = "chan receive"
    CHAN_SEND = "chan send"
    SELECT = "select"
    SELECT_NO_CASES = "select (no cases)"
    SLEEP = "sleep"
    SYNC_MUTEX_LOCK = "sync.Mutex.Lock"
    SYNC_RWMUTEX_RLOCK = "sync.RWMutex.RLock"
    SYNC_RWMUTEX_LOCK = "sync.RWMutex.Lock"
    SYNC_WAITGROUP_WAIT = "sync.WaitGroup.Wait"
    SYNC_COND_WAIT = "sync.Cond.Wait"
    # threading/_thread locks made goroutine-aware by threadlock.py (no Go analogue:
    # named as Go names its sync waits, by the call that parked).
    THREAD_LOCK = "threading.Lock.acquire"
    THREAD_RLOCK = "threading.RLock.acquire"
    SEMACQUIRE = "semacquire"
    IO_WAIT = "IO wait"
    PREEMPTED = "preempted"
    SYSCALL = "syscall"
    FINALIZER_WAIT = "finalizer wait"


SYSTEM_GOID_BASE: Final = 1 << 31
"""System goroutines (the finalizer goroutine, calls from other threads) are numbered
from here on, apart from the program's, whose numbers then do not depend on when the
runtime needed one (a collection coming due is timing: sysmon allocates too). Below
2**32, so ``threadlock.goroutine_ident`` (the run's start time << 32, minus the id)
stays unique."""


class G:
    """One goroutine. ``gr`` is created lazily by the M's g0 (see proc.g0_main)."""

    __slots__ = (
        "aio",
        "args",
        "ctx",
        "fn",
        "goid",
        "gopc",
        "gr",
        "is_main",
        "kwargs",
        "m",
        "onexit",
        "param",
        "pending",
        "pendmore",
        "preempt",
        "result",
        "resume",
        "selectdone",
        "status",
        "system",
        "waiting",
        "waitreason",
        "waitsince",
    )

    def __init__(self) -> None:
        self.goid = 0
        self.status = Gstatus.IDLE
        self.waitreason = WaitReason.ZERO
        self.waitsince = 0  # monotonic ns when the G parked (for dumps)
        # Set by sysmon's preemptone, cleared by execute: "stop at the next safe point".
        self.preempt = False
        self.gr: greenlet | None = None
        self.fn: Callable[..., Any] | None = None
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        # The contextvars context the G starts in: a copy of its creator's (newproc).
        self.ctx: Context | None = None
        self.m: M | None = None
        # Set by whoever readies a parked G: the Sudog that completed (chan, select)
        # or the value an offloaded call produced.
        self.param: Any = None
        self.selectdone = False
        # Where the G was created (traceback.creator_of): code, offset, module, parent id.
        self.gopc: tuple[CodeType, int, str, int] | None = None
        self.result: Any = None
        self.is_main = False
        # A runtime goroutine (Go: isSystemGoroutine): the finalizer goroutine and the
        # ones that run calls made from other threads. Not counted by num_goroutine,
        # not shown in dumps, never preempted.
        self.system = False
        # What the parked G waits on: an object with cancel(gp) (see the module essay);
        # CANCELLED once proc.goraise took it off; None while not parked.
        self.waiting: Any = None
        # An exception to raise in the G where it resumes (proc.goraise), and any that
        # came after it, raised one per safe point after that one.
        self.pending: BaseException | None = None
        self.pendmore: list[BaseException] | None = None
        # The greenlet to switch to when the G runs again, when it stopped inside a child
        # greenlet of its own (libraries built on greenlet); None: ``gr``.
        self.resume: greenlet | None = None
        # Called (no arguments, must not park) when the goroutine's function returns,
        # before the G goes to the free list: threadlock.local drops its per-goroutine
        # dicts this way. None when nothing is registered (the usual case).
        self.onexit: list[Callable[[], None]] | None = None
        # The G's asyncio thread state (aio.LoopState: running loop, async generator
        # hooks) while it runs an event loop; None for a G that never did (the usual case:
        # then none of it costs the G anything).
        self.aio: Any = None

    def __repr__(self) -> str:
        return f"<G goid={self.goid} {self.status.name.lower()} {self.waitreason!s}>"


class _Cancelled:
    """``G.waiting`` after proc.goraise took the G off its wait (never cancelled again)."""

    def __repr__(self) -> str:
        return "CANCELLED"


CANCELLED = _Cancelled()
