"""Go channels (Go: runtime/chan.go).

``Chan`` is Go's hchan: a FIFO buffer of at most ``dataqsiz`` values and
two wait queues of sudogs (``recvq``, ``sendq``). The buffer is a deque, not
Go's preallocated ring (``buf``, ``sendx``, ``recvx``): it takes memory only
for what it holds (``Chan(10**9)`` allocates nothing up front), and its
append/popleft cost less bytecode than ring indexing. ``qcount`` is its length.

Invariants, checked by the tests and true between any two operations:
  at least one of recvq and sendq is empty (ignoring sudogs of finished selects);
  buffered: qcount > 0 implies recvq is empty;
  buffered: qcount < cap implies sendq is empty.

A send that finds a waiting receiver hands the value straight to it and
readies it (no trip through the buffer); a receive that finds a waiting
sender on a full buffer takes the head and moves the sender's value to the
tail, so FIFO order holds. Closing wakes every waiter: receivers get
(None, False), senders raise.

Locking: channels are touched only by the M that runs goroutines, and a
channel operation never yields between its check and its update, so the GIL
plus one running M is the lock. When Ps run on several Ms, hchan gains Go's
``lock`` and every function below takes it where Go's does.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from types import CodeType, FrameType, FunctionType
from typing import Any, Final, Generic, TypeVar

from . import proc
from .cgocall import cgocallback
from .error import ClosedChannelError, Finalizing, NotInGoroutine
from .g import G, Gstatus, WaitReason
from .symtab import call_target_by_name
from .traceback import is_gort_file

T = TypeVar("T")
# Go's maxAlloc bound on a channel's buffer, as a count of values (sys.maxsize).
MAX_CAP: Final = sys.maxsize
_WAITING = Gstatus.WAITING


class Sudog:
    """A G waiting on a channel (Go: sudog). Linked into one waitq at a time."""

    __slots__ = ("c", "elem", "g", "index", "is_select", "next", "prev", "q", "queued",
                 "success")

    def __init__(self, gp: G, elem: Any, c: Chan[Any], is_select: bool, index: int) -> None:
        self.g = gp
        self.elem = elem
        self.c = c
        self.is_select = is_select
        self.index = index  # the case index, for select
        self.success = False  # True: a value passed; False: woken by close
        self.next: Sudog | None = None
        self.prev: Sudog | None = None
        self.q: WaitQ | None = None  # the queue it was last put on
        self.queued = False

    def cancel(self, gp: G) -> None:
        """Take this sudog off its queue: its G stops waiting (proc.goraise)."""
        if self.queued:
            self.q.remove(self)  # type: ignore[union-attr]

    # abandon.reap: the channel outlives the run; a later run must not hand the
    # abandoned G a value (lost: it is never resumed) or count it as a waiter.
    abandon = cancel


class SudogList(list["Sudog"]):
    """A blocked select's sudogs, one per case: what its G waits on."""

    __slots__ = ()

    def cancel(self, gp: G) -> None:
        """Take every sudog off its queue; no waker may pick this select any more."""
        gp.selectdone = True
        for sg in self:
            sg.cancel(gp)

    abandon = cancel  # abandon.reap (see Sudog.abandon)


class WaitQ:
    """A doubly linked FIFO of sudogs (Go: waitq): O(1) enqueue, dequeue and removal."""

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: Sudog | None = None
        self.last: Sudog | None = None

    def enqueue(self, sg: Sudog) -> None:
        sg.next = None
        sg.q = self
        sg.queued = True
        last = self.last
        sg.prev = last
        if last is None:
            self.first = sg
        else:
            last.next = sg
        self.last = sg

    def remove(self, sg: Sudog) -> None:
        """Unlink sg (Go: dequeueSudoG)."""
        if not sg.queued:
            return
        prev, nxt = sg.prev, sg.next
        if prev is None:
            self.first = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.last = prev
        else:
            nxt.prev = prev
        sg.next = sg.prev = None
        sg.queued = False

    def dequeue(self) -> Sudog | None:
        """Take the first sudog that can still be woken (Go: waitq.dequeue).

        A select's sudogs stay queued on its other channels until the select
        resumes and removes them; one whose select already won elsewhere is
        skipped, and the select that takes this one is marked done.
        """
        while True:
            sg = self.first
            if sg is None:
                return None
            self.remove(sg)
            if sg.is_select:
                gp = sg.g
                if gp.selectdone:
                    continue
                gp.selectdone = True
            return sg

    def has_waiter(self) -> bool:
        """True if dequeue would return a sudog."""
        sg = self.first
        while sg is not None:
            if not (sg.is_select and sg.g.selectdone):
                return True
            sg = sg.next
        return False

    def __len__(self) -> int:
        n = 0
        sg = self.first
        while sg is not None:
            n += 1
            sg = sg.next
        return n


class Chan(Generic[T]):
    """A Go channel. ``Chan()`` is unbuffered; ``Chan(n)`` buffers n values.

    ``send`` blocks until a receiver takes the value (unbuffered) or there is
    room; ``recv`` blocks until a value arrives and returns None once the
    channel is closed and drained (``recv_ok`` says which); ``close`` wakes
    every waiter. ``for v in ch`` receives until closed and drained.
    """

    __slots__ = ("buf", "closed", "dataqsiz", "recvq", "sendq")

    def __init__(self, size: int = 0) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"gort.Chan: size must be an int, got {size!r}")
        if size < 0:
            raise ValueError(
                f"gort.Chan: size {size} is negative; use 0 for an unbuffered channel "
                "or a positive capacity"
            )
        if size > MAX_CAP:
            raise ValueError(
                f"gort.Chan: size {size} is larger than the largest capacity, {MAX_CAP}; "
                "a buffer never holds more than that many values")
        self.dataqsiz = size
        self.buf: deque[Any] = deque()
        self.closed = False
        self.recvq = WaitQ()
        self.sendq = WaitQ()

    # -- the public operations -------------------------------------------------

    def send(self, v: T) -> None:
        """Send v; block until a receiver takes it or the buffer has room."""
        gp = proc.getg()
        if gp.preempt:
            proc.gopreempt_m(gp, False)
        sg = self.recvq.first
        if sg is not None and not sg.is_select and not self.closed:
            # Fast path (measured: the common hand-off): a plain receiver waits at the
            # head; what try_send would do, without its calls (dequeue's unlink inlined).
            nxt = sg.next
            self.recvq.first = nxt
            if nxt is None:
                self.recvq.last = None
            else:
                nxt.prev = None
            sg.next = None
            sg.queued = False
            sg.elem = v
            sg.success = True
            proc.goready(sg.g)  # a plain receiver: no gp.param (only a select reads it)
            return
        buf = self.buf
        if sg is None and len(buf) < self.dataqsiz and not self.closed:
            buf.append(v)  # fast path: room in the buffer and no receiver waiting
            return
        if self.try_send(v):
            return
        mysg = Sudog(gp, v, self, False, 0)
        self.sendq.enqueue(mysg)
        proc.gopark(gp, WaitReason.CHAN_SEND, _WAITING, mysg)
        if not mysg.success:
            raise ClosedChannelError("send on closed channel")

    def recv(self) -> T | None:
        """Receive a value; None once the channel is closed and drained."""
        return self.recv_ok()[0]

    def recv_ok(self) -> tuple[T | None, bool]:
        """Receive ``(value, True)``, or ``(None, False)`` once closed and drained."""
        gp = proc.getg()
        if gp.preempt:
            proc.gopreempt_m(gp, False)
        if self.sendq.first is None:
            # Fast paths (measured: most receives), what try_recv would do without its
            # calls: take from the buffer, or wait.
            buf = self.buf
            if buf:
                return buf.popleft(), True
            if self.closed:
                return None, False
        else:
            got = self.try_recv()
            if got is not None:
                return got
        # Wait in recvq until a sender hands a value over or the channel closes. (Here,
        # not in a helper: one frame fewer on every parked receiver's stack.)
        mysg = Sudog(gp, None, self, False, 0)
        self.recvq.enqueue(mysg)
        proc.gopark(gp, WaitReason.CHAN_RECEIVE, _WAITING, mysg)
        return mysg.elem, mysg.success

    def close(self) -> None:
        """Close the channel: receivers drain what is buffered, then get None; senders raise."""
        try:
            proc.getg()
        except NotInGoroutine as e:  # another thread: run it on the M (cgocall.py)
            cgocallback(e.s, self.close)
            return
        except Finalizing:  # at interpreter exit: no goroutine is left to wake
            if self.closed:
                raise ClosedChannelError("close of closed channel") from None
            self.closed = True
            return
        if self.closed:
            raise ClosedChannelError("close of closed channel")
        self.closed = True
        for q in (self.recvq, self.sendq):
            while True:
                sg = q.dequeue()
                if sg is None:
                    break
                sg.elem = None
                sg.success = False
                if sg.is_select:
                    sg.g.param = sg  # the select's winner; never set for a plain wait
                proc.goready(sg.g)

    @property
    def cap(self) -> int:
        """The buffer's capacity (0 for an unbuffered channel)."""
        return self.dataqsiz

    def __len__(self) -> int:
        return len(self.buf)

    @property
    def qcount(self) -> int:
        """Values in the buffer (Go: hchan.qcount); ``len(ch)``."""
        return len(self.buf)

    def __iter__(self) -> Iterator[T]:
        me = sys._getframe(0)
        to = _yielded_to
        watch = watch_yields
        while True:
            v, ok = self.recv_ok()
            if not ok:
                return
            if watch[0]:
                f = me.f_back  # the frame that resumed the generator: next(it), a loop
                to[0] = id(f)
                to[1] = f.f_lasti  # type: ignore[union-attr]
            yield v  # type: ignore[misc]

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<gort.Chan cap={self.dataqsiz} len={len(self.buf)}{state}>"

    # -- the non-blocking halves, shared with select and timers ----------------

    def try_recv(self) -> tuple[Any, bool] | None:
        """Receive without blocking: (value, ok), or None if it would block."""
        sg = self.sendq.dequeue()
        if sg is not None:
            # A sender is waiting: the buffer (if any) is full.
            if self.dataqsiz == 0:
                v = sg.elem
            else:
                v = self.buf.popleft()
                self.buf.append(sg.elem)
            sg.elem = None
            sg.success = True
            if sg.is_select:
                sg.g.param = sg  # the select's winner; never set for a plain wait
            proc.goready(sg.g)
            return v, True
        if self.buf:
            return self.buf.popleft(), True
        if self.closed:
            return None, False
        return None

    def try_send(self, v: Any) -> bool:
        """Send without blocking; False if it would block. Raises if closed."""
        if self.closed:
            raise ClosedChannelError("send on closed channel")
        sg = self.recvq.dequeue()
        if sg is not None:
            # Direct hand-off to a waiting receiver (Go: send).
            sg.elem = v
            sg.success = True
            if sg.is_select:
                sg.g.param = sg  # the select's winner; never set for a plain wait
            proc.goready(sg.g)
            return True
        if len(self.buf) < self.dataqsiz:
            self.buf.append(v)
            return True
        return False

    # -- at interpreter exit (error.Finalizing): every goroutine is gone -------------

    def try_send_alone(self, v: Any) -> bool:
        """try_send with no goroutine left: only the buffer can take v (a receiver still
        queued belongs to an abandoned goroutine, never resumed). Raises if closed."""
        if self.closed:
            raise ClosedChannelError("send on closed channel")
        if len(self.buf) < self.dataqsiz:
            self.buf.append(v)
            return True
        return False

    def try_recv_alone(self) -> tuple[Any, bool] | None:
        """try_recv with no goroutine left: from the buffer, or closed (a sender still
        queued belongs to an abandoned goroutine)."""
        if self.buf:
            return self.buf.popleft(), True
        if self.closed:
            return None, False
        return None

    def can_recv(self) -> bool:
        return bool(self.buf) or self.closed or self.sendq.has_waiter()

    def can_send(self) -> bool:
        return self.closed or len(self.buf) < self.dataqsiz or self.recvq.has_waiter()


# -- the C core (gort._core) -------------------------------------------------------

PURE_ENV: Final = "GORT_PURE_PYTHON"


def _load_core() -> str:
    """Put gort._core's send/recv/recv_ok on Chan, unless GORT_PURE_PYTHON=1 or it is not
    built; returns which path runs (``CORE``). The pure methods stay the reference: each C
    method finishes only the operations it can do without parking and calls its pure
    method (``__wrapped__``) for everything else (_core.c)."""
    flag = os.environ.get(PURE_ENV, "")
    if flag not in ("", "0", "1"):
        raise ValueError(f"gort: {PURE_ENV}={flag!r}; use 1 for the pure-Python runtime, or "
                         "0 (or leave it unset) for the C core where it is built")
    if flag == "1":
        return f"pure Python ({PURE_ENV}=1)"
    if importlib.util.find_spec("gort._core") is None:
        return "pure Python (the C core gort._core is not built)"
    try:
        from .. import _core  # type: ignore[attr-defined]
    except ImportError as e:  # built, but not loadable here (another Python's build)
        return f"pure Python (the C core gort._core does not load: {e})"
    from greenlet import getcurrent, greenlet

    from . import sched
    from .g import CANCELLED
    from .m import M
    from .p import RUNQ_SIZE, P
    from .timers import Timers

    pure = {"send": Chan.send, "recv": Chan.recv, "recv_ok": Chan.recv_ok,
            "__iter__": Chan.__iter__}
    fast = _core.setup({
        "Chan": Chan, "Sudog": Sudog, "WaitQ": WaitQ, "G": G, "M": M, "P": P,
        "sched": sched, "WAITING": Gstatus.WAITING, "SYSCALL": Gstatus.SYSCALL,
        "RUNNABLE": Gstatus.RUNNABLE, "runqputslow": proc.runqputslow,
        "RUNQ_SIZE": RUNQ_SIZE, "RUNTIME_DEPTH": proc.RUNTIME_DEPTH,
        "PARK_DEPTH": proc.PARK_DEPTH, "gopark": proc.gopark,
        "CHAN_SEND": WaitReason.CHAN_SEND, "CHAN_RECEIVE": WaitReason.CHAN_RECEIVE,
        "ClosedChannelError": ClosedChannelError, "RUNNING": Gstatus.RUNNING,
        "NOREASON": WaitReason.ZERO, "CANCELLED": CANCELLED,
        "raise_pending": proc.raise_pending,
        "pending_after_wait": proc.pending_after_wait, "Timers": Timers, "greenlet": greenlet,
        "getcurrent": getcurrent, "gcpoll": proc.gcpoll, "find_runnable": proc.find_runnable,
        "foreign_switch": proc.foreign_switch, "hop_run": proc.hop_run,
        "gmain": proc.gmain,
        **pure})
    for (name, fn), m in zip(pure.items(), fast, strict=True):
        for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
            setattr(m, attr, getattr(fn, attr))
        m.__wrapped__ = fn  # inspect.signature, and the pure method itself
        setattr(Chan, name, m)
    return "C"


CORE: Final = _load_core()
"""Which runtime path runs: "C" (gort._core's fast paths), or "pure Python (why)"."""

# Where iter(ch)'s generator last gave an item: the id of the frame that resumed it and
# that frame's instruction. next(it) is a call through C, and CPython checks for
# signals right after it returns, before its result is stored: a handler raising there
# dropped the item (32 in 60,000 under a raising 1 ms SIGALRM, sig_core_values.py next).
# Ids, not frames: no frame is kept alive; a reused id can only defer a handler. The
# C core notes every operation's return itself (_core.c: returned_at).
_yielded_to: list[int] = [0, -1]
watch_yields: list[bool] = [False]
"""Whether the generator notes it: while the program has a signal handler of its own
(sigqueue.SigQueue._watch_yields)."""


def _iter_returned_at(frame: FrameType, lasti: int = -1) -> bool:
    return id(frame) == _yielded_to[0] and \
        (frame.f_lasti if lasti < 0 else lasti) == _yielded_to[1]


def _core_module() -> Any:
    """gort._core where the C core runs, else None."""
    if CORE != "C":
        return None
    from .. import _core  # type: ignore[attr-defined]

    return _core


_CORE: Final = _core_module()
_CORE_METHOD: Final[type | None] = None if _CORE is None else _CORE.CoreMethod


def _returned_at() -> Callable[[FrameType, int], bool]:
    if _CORE is None:
        return _iter_returned_at
    core_returned_at = _CORE.returned_at

    def either(frame: FrameType, lasti: int = -1) -> bool:
        return core_returned_at(frame, lasti) or _iter_returned_at(frame, lasti)

    return either


# The operations whose completed call an exception must not seem to undo: what they
# return (a value received, a select's case) or what they did (a send, a goroutine
# started). By name, in gort's files: Chan's and select's, and the go functions
# (gort.go, WaitGroup.go, errgroup's go and try_go). Not a lock's acquire or release,
# nor sleep: an exception right after them is one CPython could raise there (a lock's
# with block catches it inside its try; deferred, it escaped: exc_waiter.py).
_OPERATION_NAMES: Final = frozenset(("send", "recv", "recv_ok", "try_send", "try_recv",
                                     "select", "selectgo", "go", "try_go"))


def is_operation(fn: Any) -> bool:
    """fn (a callee read from a call's names) is one of gort's channel operations or go
    functions (_OPERATION_NAMES): a C-core operation, or such a function of gort's
    files, bound or in a functools.partial. A call of one that has returned is where
    sigqueue defers a handler and the preemption hook raises no exception: its result
    is not yet stored (the rest of CPython's check points take them)."""
    for _ in range(8):
        if isinstance(fn, functools.partial):
            fn = fn.func
            continue
        fn = getattr(fn, "__func__", fn)  # a bound method: its function
        if _CORE_METHOD is not None and isinstance(fn, _CORE_METHOD):
            return True
        inner = getattr(fn, "__wrapped__", None) if isinstance(fn, FunctionType) else None
        if inner is None:
            break
        fn = inner  # a decorator's wrapper (on_m's): the function it wraps
    code = getattr(fn, "__code__", None)
    return isinstance(code, CodeType) and code.co_name in _OPERATION_NAMES and \
        is_gort_file(code.co_filename)


returned_at: Final = _returned_at()
"""returned_at(frame, lasti=-1): is ``frame`` (where a signal handler runs) stopped at
the call of a channel operation that has just returned, its result not yet stored?
(With ``lasti``: was the last such return to frame's call at lasti? The preemption
hook asks one instruction later.) Then sigqueue
defers the handler: an exception raised there would drop what the operation received,
or make a send or go it made look undone. The C core's answer (_core.c: every
operation's return) or iter(ch)'s generator's (the pure path's one call through C)."""


def operation_returned_at(frame: FrameType, lasti: int = -1) -> bool:
    """frame's call at ``lasti`` (default: its current instruction) is a channel operation
    or go function that has returned, its result not yet stored: noted by the core or
    iter(ch) (returned_at), or named so by the call's load chain (is_operation: a Python
    operation reached through a C callable, ``partial(gort.select, case)``,
    ``partial(wg.go)``, on the pure path ``partial(ch.recv)``, returns through the
    caller's check too; helper-71, F2). sigqueue defers a handler due there, and the
    preemption hook raises no pending exception there."""
    return returned_at(frame, lasti) or is_operation(call_target_by_name(frame, lasti))

_F = TypeVar("_F", bound=Callable[..., Any])


def core_go(pure: _F) -> _F:
    """gort.go's C path (``gort._core.setup_go``: newproc in C, falling back to ``pure``
    for everything it does not do), or ``pure`` itself on the pure path. Loads
    ``proc.goexit_core`` with it (gmain's exit path in C), and ``proc.g0_switch`` (g0's
    switch, noting where g0 stands for the core's nested starts)."""
    if CORE != "C":
        return pure
    from .. import _core  # type: ignore[attr-defined]
    from .mfinal import Finq
    from .netpoll import Netpoll
    from .sched import Stats
    from .traceback import _GORT_DIR

    m = _core.setup_go({"go": pure, "Stats": Stats, "gopreempt_m": proc.gopreempt_m,
                        "GORT_DIR": _GORT_DIR, "GFREE_MAX": proc._GFREE_MAX,
                        "DEAD": Gstatus.DEAD, "Netpoll": Netpoll, "Finq": Finq,
                        "gc_get_count": gc.get_count})
    proc.goexit_core = _core.goexit
    proc.g0_switch = _core.g0_switch
    for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(m, attr, getattr(pure, attr))
    m.__wrapped__ = pure
    return m  # type: ignore[no-any-return]


def core_waitgroup(cls: type) -> None:
    """Put WaitGroup.add and done's C paths (``gort._core.setup_waitgroup``: the count
    when it stays above zero, from a goroutine) on cls, falling back to its pure methods
    (``__wrapped__``); nothing on the pure path."""
    if CORE != "C":
        return
    from .. import _core  # type: ignore[attr-defined]

    pure = {"add": cls.add, "done": cls.done}  # type: ignore[attr-defined]
    fast = _core.setup_waitgroup({"WaitGroup": cls, **pure})
    for (name, fn), m in zip(pure.items(), fast, strict=True):
        for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
            setattr(m, attr, getattr(fn, attr))
        m.__wrapped__ = fn
        setattr(cls, name, m)
