"""Goroutine-aware thread locks (no Go analogue: Go has no other kind of lock).

From the moment ``gort`` is imported (``patch``), ``threading.Lock``,
``threading.RLock``, ``_thread.allocate_lock``, ``_thread.RLock``,
``threading.local``, ``queue.SimpleQueue`` and io's four buffered types (over a
Python raw stream: taken in turns, below) make the objects below, names
already bound to those factories in imported modules are rebound, and
importlib's per-module import locks are built from them. They stay for the
process's life; outside a run they behave as the plain ones. Everything
threading builds on them (Condition, Semaphore, Event, Barrier,
``queue.Queue``, logging's handler locks) becomes goroutine-aware with them,
as gevent's ``monkey.patch_thread`` makes them greenlet-aware.

Why: goroutines of one M share one OS thread. A goroutine preempted while it
holds a plain ``_thread`` lock leaves it held; the next goroutine that wants
it blocks the only thread in ``acquire``, so the holder never runs again (a
hang). An ``_thread.RLock`` is owned by a thread, so a second goroutine of
the same thread walks straight into it (no mutual exclusion).

Lock (``_thread.lock``'s interface). A real ``_thread`` lock ``raw`` is the
state: "locked" is ``raw`` locked. Uncontended ``acquire`` is
``raw.acquire(False)`` and ``release`` is ``raw.release()`` after one empty
check, so a lock nobody waits for costs one C call more than a plain one.
Contended, a goroutine of the running M queues a ``_Waiter`` and parks
(``WaitReason.THREAD_LOCK``); it never blocks the thread. ``release`` with
waiters does not unlock ``raw``: it pops the first waiter and readies it,
owning the lock (Go's starvation-mode hand-off, as gort.sync.Mutex): waiters
are served in FIFO order and a newcomer cannot barge. A Lock may be released
by any goroutine or thread (Condition's waiter locks are); a release from a
thread other than the M readies the goroutine through ``proc.ready_foreign``
(injectq and a netpoll wake-up, like a finished offload, without counting as
one). Threads other than the M, and every caller when no runtime runs (before,
after, or a lock outliving its run), block on ``raw`` as on a plain lock; a
thread gets ``raw`` only when no goroutine waits (goroutines can starve a
thread out; not the reverse). ``acquire(timeout=t)`` parks with a runtime
timer; a timed-out waiter has removed itself from the queue before it runs.

Invariants, with no lock of its own (the GIL makes each deque operation
atomic, and code of this module is never preempted: it is gort's own):
  - a waiter is in the queue only while ``raw`` is locked, except between a
    waiter's enqueue and its second try, and between a release's unlock and
    its re-check (``_recheck``); both sides look again after, so no wake-up
    is lost: whichever of them finds the lock free takes it;
  - exactly one party removes a waiter: a releaser (``popleft``: the lock is
    now the waiter's), its timer (``remove``: timed out) or the waiter itself
    (a second try that succeeded, or an exception while parked);
  - a waiter is readied only after it parked: on the M, no other goroutine
    runs between its enqueue and its park; from another thread, readies wait
    in injectq, which only the parked M's scheduler drains.

RLock (``_thread.RLock``'s interface) is a Lock plus an owner and a count;
the owner is ``goroutine_ident()``: the thread's ident for the thread itself,
the main goroutine and callers outside any goroutine, and a negative number
unique to the goroutine's life (the run's start time and the goid; G objects
are reused, goids are not) for the others. So it is never entered by a second
goroutine of the owner's thread, and the main goroutine and its thread are
one owner (what a script holds before an implicit start it still holds).

importlib: ``importlib._bootstrap`` reaches ``_thread`` through a module
attribute; it is pointed at a namespace whose ``get_ident`` is
``goroutine_ident`` and whose locks are these, so a goroutine importing a
module that another goroutine is still executing (parked at its top level)
waits for it, as a second thread would, and import deadlock detection
(``_DeadlockError``) sees goroutines. Module locks alive when the run starts
(it started inside an import) get these locks inside (``adopt_module_locks``).
``threading.get_ident`` itself stays the thread's: threading's own
bookkeeping (``current_thread``, ``_active``) and gort's M are keyed by it
(gevent replaces it, and then makes a ``_DummyThread`` per greenlet; rejected).

threading.local is per goroutine, as gevent's patched local is: state kept
in a ``local`` is what code uses when it wants "per thread of control" (a
request, a database connection, decimal contexts), and a goroutine is that
under gort. The main goroutine, threads other than the M and callers outside
any goroutine use a real ``_thread._local`` underneath, so the main
goroutine shares its values with its thread, and a thread's values die with
it. A goroutine's values are dropped when its function returns (``G.onexit``);
abandoned goroutines' values live until the ``local`` dies. The
implementation is CPython's ``_threading_local`` design (swap the instance's
``__dict__`` under an RLock, per access), keyed by ``goroutine_ident``.
Rejected: per thread (the plain ``_thread._local``): concurrent goroutines
would overwrite each other's "per request" state.

When: at ``import gort``, not at a run's start (the first design). Patched
per run, a lock made before the run by a name bound earlier (``from
threading import Lock`` at a module's top, 3.11's ``functools.RLock`` inside
``cached_property``) was a plain one used by goroutines: Locks hung until
recovery, RLocks let a second goroutine in. Patched at import, only locks
made before ``import gort`` are plain (module-level locks of modules imported
earlier: logging's, ``tempfile``'s; ``gort run`` imports gort before the
program, so none of the program's), and factories taken before it are found
wherever the program keeps them (``_rebind``, through the garbage
collector's referrers: one pass, about 3 ms with 40,000 objects), so a
``defaultdict(threading.Lock)`` or a dataclass ``default_factory`` made
earlier makes goroutine-aware locks. ``Debug.nopreempt_modules`` and the
preemption side cover the plain locks that exist: every plain RLock alive at
import is remembered, weakly (``_pre_import_rlocks``: the C RLock is tracked
by the collector, so the referrers of its type are its instances; 1 ms), and
preemption waits while the M owns one (``find_raw_rlocks``). The price is
paid by threads of a program that imports gort: ``with lock`` 126 -> 180 ns,
an RLock 125 -> 400 ns, a ``local`` attribute 31 -> 530 ns
(``bench/lock_micro.py``, "thread" row). The runtime's own locks are never
these (lock_futex.py). Rejected: restoring the originals after a
run (a lock made between runs was plain in the next one) and an import hook
that rewrites ``from threading import Lock`` in modules loaded later (the
names are looked up in the patched modules then anyway).

Checkdead: a goroutine parked on a Lock, or on an RLock a thread holds, could
still be woken by a thread; ``proc.checkdead`` waits while a Python thread
other than gort's is alive (``releasable_by_thread``).

Rejected: a goroutine-level lock with no ``raw`` (gort.sync.Mutex's design)
and a separate path for threads: a Lock must exclude goroutines and threads
at once, and a thread can only block on something real. Rejected: wrapping
``raw`` with an internal mutex to order waiters and releasers: one more C
call on every uncontended acquire and release, for races the second looks
above already close.
"""

from __future__ import annotations

import _thread
import dataclasses
import functools
import gc
import importlib
import io
import os
import queue
import reprlib
import sys
import threading
import time
import types
import weakref
from collections import defaultdict, deque
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Final

from . import abandon, proc
from . import sched as _sched
from .aio import after_import
from .g import G, Gstatus, WaitReason
from .lock_futex import mutex
from .sched import Sched
from .stack import thread_tracing as _thread_tracing
from .stack import thread_tracing_now as _thread_tracing_now
from .stack import tracing_tls as _tls
from .symtab import with_managers
from .time import start_timer, stop_timer
from .timers import Timer
from .traceback import stack_lines, stack_lines_of

_allocate_raw: Final = mutex  # CPython's factory (lock_futex.py)
_RawRLock: Final = _thread.RLock
_raw_local: Final = _thread._local
_get_ident: Final = _thread.get_ident
_bootstrap: Final[Any] = importlib._bootstrap


def _no_pickle(what: str) -> Callable[[Any, Any], Any]:
    """A ``__reduce_ex__`` that refuses, as CPython's lock and local types do (they define
    no way to pickle): copy.copy, copy.deepcopy and pickle raise TypeError. Without it a
    slotted class is copied slot by slot: a copy sharing the original's inner lock."""
    def __reduce_ex__(self: Any, protocol: Any) -> Any:
        raise TypeError(f"cannot pickle {what!r} object")
    return __reduce_ex__


def _running_g() -> tuple[Sched, G] | None:
    """The runtime and the goroutine running on this thread, or None (a thread, no goroutine)."""
    s = _sched.current
    if s is not None:
        mp = s.m0
        if mp.tid == _get_ident():
            gp = mp.curg
            if gp is not None:
                return s, gp
    return None


def goroutine_ident() -> int:
    """The identity of the calling goroutine, for lock owners and importlib.

    The thread's ``get_ident()`` for the main goroutine (the run's first: in a child
    forked by another goroutine, that one is main there and keeps its own identity, as
    a forked thread keeps its ident) and anything not in a goroutine; for other
    goroutines, a negative int unique to that goroutine's life (thread idents are
    never negative).
    """
    s = _sched.current
    if s is not None:
        mp = s.m0
        if mp.tid == _get_ident():
            gp = mp.curg
            if gp is not None and gp is not s.thread_g:
                return s.identbase - gp.goid
    return _get_ident()


def _check_args(blocking: Any, timeout: Any) -> None:
    """Raise what ``_thread.lock.acquire(blocking, timeout)`` raises for these arguments.

    A fresh lock is free, so the call validates and returns at once, with the
    running CPython's own texts (3.11: "timeout value must be positive", 3.13:
    "... a non-negative number").
    """
    _allocate_raw().acquire(blocking, timeout)


class _Waiter:
    """A goroutine waiting for a Lock: what it parks on (``G.waiting``), and its entry in
    ``Sched.lockwaits`` (with the lock or RLock it waits for, ``on``)."""

    __slots__ = ("cancelled", "g", "handed", "lock", "on", "q", "timed_out")

    def __init__(self, gp: G, lock: Lock, on: Lock | RLock, q: deque[_Waiter]) -> None:
        self.g = gp
        self.lock = lock  # the Lock whose queue q is (an RLock's block)
        self.on = on  # what the goroutine asked for (checkdead, the goroutine dump)
        self.q = q
        self.timed_out = False
        self.cancelled = False
        self.handed = False  # a release readied the goroutine, handing it the lock

    def cancel(self, gp: G) -> None:
        """proc.goraise: leave the queue, unless a release already handed the lock over
        (then the waiter's own exception path passes it on, see Lock._abandon)."""
        try:
            self.q.remove(self)
        except ValueError:
            return
        self.cancelled = True

    def releasable_by_thread(self) -> bool:
        """For checkdead: whether a thread could release what the goroutine waits for."""
        return self.on.releasable_by_thread()


def _timeout(arg: tuple[deque[_Waiter], _Waiter], _now: int) -> None:
    """A timed acquire's timer (runs on the M's scheduler path)."""
    q, w = arg
    try:
        q.remove(w)
    except ValueError:
        return  # a release popped it first: the lock is w's and its wake-up is on the way
    w.timed_out = True
    proc.goready(w.g)


class Lock:
    """``_thread.lock`` for goroutines: parks a goroutine, blocks a thread.

    ``acquire(blocking=True, timeout=-1) -> bool`` and ``release()`` as
    ``_thread.lock``'s (same errors: ValueError for a timeout with
    ``blocking=False`` or a negative one, RuntimeError "release unlocked
    lock"). The goroutine side is Go's sync.Mutex in starvation mode.
    """

    __slots__ = ("__weakref__", "_raw", "_waiters")

    def __init__(self) -> None:
        self._raw = _allocate_raw()
        # Created by the first goroutine that waits (only the M creates it).
        self._waiters: deque[_Waiter] | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        raw = self._raw
        if timeout != -1 or blocking is not True:
            _check_args(blocking, timeout)
            if not blocking:
                return raw.acquire(False)
        if raw.acquire(False):
            return True
        if timeout == 0:
            return False
        cur = _running_g()
        if cur is None:
            return raw.acquire(True, timeout)
        return self._park(cur[0], cur[1], timeout, WaitReason.THREAD_LOCK, self)

    def _park(self, s: Sched, gp: G, timeout: float, reason: WaitReason,
              waited_on: Lock | RLock, muted: memoryview | None = None) -> bool:
        """Queue gp and park it until a release hands it the lock or the timeout passes.

        ``muted``: the thread's tracing counter, raised by the caller (an RLock's
        acquire), lowered for the park itself (proc.gopark refuses inside a tracing
        callback, and the counter is the thread's, shared by its goroutines) and raised
        again when gp runs; a release that hands gp the RLock records it as the owner
        first (``_wake``), so nothing between the park and the caller sees it half-taken.
        """
        q = self._waiters
        if q is None:
            q = self._waiters = deque()
        w = _Waiter(gp, self, waited_on, q)
        q.append(w)
        if self._raw.acquire(False):  # released between the first try and the enqueue
            q.remove(w)
            return True
        t: Timer | None = None
        if timeout > 0:
            t = start_timer(timeout, 0, _timeout, (q, w))
        s.lockwaits[gp] = w
        if muted is not None:
            muted[0] -= 1
        try:
            proc.gopark(gp, reason, Gstatus.WAITING, w)
        except BaseException:
            self._abandon(q, w)
            raise
        finally:
            if muted is not None:
                muted[0] += 1
            s.lockwaits.pop(gp, None)
            if t is not None and not w.timed_out:
                stop_timer(t)
        return not w.timed_out

    def _abandon(self, q: deque[_Waiter], w: _Waiter) -> None:
        """The waiter's goroutine was thrown an exception while parked: leave no trace."""
        if w.cancelled:
            return  # proc.goraise took it off the queue: the lock was never its
        try:
            q.remove(w)
        except ValueError:
            if not w.timed_out:  # a release handed the lock to w: pass it on
                _unown(w)
                self.release()

    def release(self) -> None:
        q = self._waiters
        if q:
            self._handoff(q)
            return
        self._raw.release()
        if self._waiters:  # a goroutine queued between the check and the unlock
            self._recheck()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        # release, with no Python call on the uncontended path: a with statement's exit
        # runs one frame deeper than its body, and must not fail at the recursion limit
        # (CPython's C lock, which adds no frame, never does).
        if self._waiters:
            self.release()
        else:
            self._raw.release()
            if self._waiters:
                self._recheck()

    def _handoff(self, q: deque[_Waiter]) -> None:
        while True:
            try:
                w = q.popleft()
            except IndexError:  # its timer took the last waiter meanwhile
                self._raw.release()
                self._recheck()
                return
            if _wake(w):
                return

    def _recheck(self) -> None:
        """After unlocking: hand the lock to a goroutine that queued meanwhile, if still free."""
        while self._waiters:
            if not self._raw.acquire(False):
                return  # held again: its holder's release hands off
            q = self._waiters
            try:
                w = q.popleft()
            except IndexError:
                self._raw.release()
                continue
            if _wake(w):
                return
            self._raw.release()

    def locked(self) -> bool:
        return self._raw.locked()

    def releasable_by_thread(self) -> bool:
        """For checkdead: any thread may release a Lock."""
        return True

    def _at_fork_reinit(self) -> None:
        self._raw = _allocate_raw()
        self._waiters = None

    __enter__ = acquire  # one Python call fewer per ``with``; returns True, as the C one

    __reduce_ex__ = _no_pickle("_thread.lock")

    # _thread.lock's old aliases
    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def __repr__(self) -> str:
        state = "locked" if self._raw.locked() else "unlocked"
        cls = type(self)
        return f"<{state} {cls.__module__}.{cls.__qualname__} object at {id(self):#x}>"


def _wake(w: _Waiter) -> bool:
    """Ready w's goroutine, handed the Lock, from wherever the release runs.

    False if its run is over or ending (the lock then goes to the next waiter or
    is unlocked). The decision is taken once: on the M (its teardown runs there
    too), or under ``Sched.lock`` from another thread, where teardown's
    ``forget_waits`` looks at ``w.handed`` under the same lock after the run is
    marked closing: a waiter handed the lock before then has it passed on by
    forget_waits, one popped after then is passed on by this release.
    """
    gp = w.g
    s = _sched.current
    if s is None or gp.m is not s.m0:
        return False
    if s.m0.tid == _get_ident():
        if s.closing:
            return False
        w.handed = True
        _own(w, s)
        proc.goready(gp)
        return True
    with s.lock:
        if s.closing:
            return False
        w.handed = True
        _own(w, s)
        s.injectq.append((gp, w))  # proc.ready_foreign, under the lock already held
    s.netpoll.brk()
    return True


def _own(w: _Waiter, s: Sched) -> None:
    """w is handed its lock: if it waits for an RLock, record its goroutine as the owner
    now, before it runs (the way back from its park runs Python code, where a profile
    or trace callback could otherwise find the RLock taken by nobody)."""
    on = w.on
    if on is not w.lock:
        gp = w.g
        on._owner = s.m0.tid if gp is s.thread_g else s.identbase - gp.goid  # type: ignore[union-attr]
        on._count = 1  # type: ignore[union-attr]


def _unown(w: _Waiter) -> None:
    """Undo ``_own``: w was handed its RLock but will never take it (an exception while
    parked, or its run ended); the lock is passed on next."""
    on = w.on
    if on is not w.lock:
        on._owner = None  # type: ignore[union-attr]
        on._count = 0  # type: ignore[union-attr]


def forget_waits(s: Sched) -> None:
    """At s's teardown (a closer): take the goroutines parked on thread locks off them.

    They are abandoned, never resumed (abandon.py), while the locks outlive the run
    and are used by threads and later runs: a waiter left queued would be handed
    the lock by the next release (kept by a goroutine that never runs again: every
    later acquire hung), and a ``threading.Condition`` waiter left in the
    condition's list would take a ``notify`` meant for a live waiter. A waiter a
    release had already handed the lock to (readied, but its goroutine never ran
    again) passes it on here, as its own exception path would have.
    """
    handed: list[_Waiter] = []
    with s.lock:  # after s.closing: no _wake from another thread decides meanwhile
        waiters = list(s.lockwaits.values())
        s.lockwaits.clear()
        for w in waiters:
            if w.cancelled or w.timed_out:
                continue  # off the queue, and the lock was never its
            try:
                w.q.remove(w)
            except ValueError:
                if w.handed:
                    handed.append(w)
            w.cancelled = True
    for w in waiters:
        _forget_condition_wait(w)
    for w in handed:
        _unown(w)
        w.lock.release()


def release_abandoned_with(gp: G, f: FrameType) -> None:
    """``abandon.before_unwind``: frame f of gp, a goroutine being released (abandoned by
    its run, never resumed), is inside a handler's range: release each Lock it holds in a
    ``with`` block there (``with lock:``, or ``with cond:`` over a Condition of a Lock),
    with a report on stderr naming the lock and gp's stack.

    Its with blocks' exits never run (abandon.py unwinds it without running the
    program's code), and the process lives on after ``gort.run`` (code after it, a
    second run, atexit's ``logging.shutdown``); a Lock has no owner to hand it over by,
    as an RLock is (``_abandoned_owner``): left held, the next ``acquire`` anywhere hung
    for good, silently. Released here, the lock behaves as if the block had been left by
    an exception (what a thread's ``with`` does when it dies), which is what Python code
    already has to expect of a lock: the data it guards may be half-updated, hence the
    report. Done as the goroutine is released, where its frames are walked anyway (at
    ``gort.run``'s return for the first ``abandon.REAP_AT_RETURN``, the others at the
    thread's next run), not at teardown: a pass over every goroutine there made
    ``gort.run`` return 0.5 s late with 100 000 abandoned. A goroutine parked in the
    lock's own acquire is before the block's body, not in it. A Lock taken by a bare
    ``acquire()`` (no ``with``) cannot be seen and stays held.
    """
    for cm in with_managers(f):
        lk = getattr(cm, "_lock", None) if isinstance(cm, threading.Condition) else cm
        if type(lk) is Lock and lk.locked():
            _report_abandoned(gp, lk, cm)
            lk.release()


_blockreport = [True]  # the last run's GODEBUG blockreport (reap runs after the run)


def _report_abandoned(gp: G, lk: Lock, cm: Any) -> None:
    if not _blockreport[0]:
        return
    via = "" if cm is lk else f" (the lock of {cm!r})"
    sys.stderr.write(
        f"gort: goroutine {gp.goid}, abandoned at its run's end, held {lk!r}{via} in a with "
        "block: the lock is released, as if the block had been left by an exception, so "
        "that code after the run does not hang on it; what it guards may be half-updated.\n"
        f"goroutine {gp.goid} [abandoned]:\n"
        + "".join(line + "\n" for line in stack_lines_of(gp))
        + "End goroutines before main returns (a sync.WaitGroup, a done channel) to keep "
        "their locks' data whole. GODEBUG=blockreport=0 turns this report off.\n\n")


_CONDITION_WAIT: Final = threading.Condition.wait.__code__


def _forget_condition_wait(w: _Waiter) -> None:
    """If w's goroutine waits in ``threading.Condition.wait`` (on its private waiter
    lock, w.lock), take that lock off the condition's waiter list, as the wait's own
    ``finally`` would have (an abandoned goroutine never runs it)."""
    gr = w.g.gr
    f = gr.gr_frame if gr is not None else None
    for _ in range(16):  # the wait's frame is a few runtime frames above the park
        if f is None:
            return
        if f.f_code is _CONDITION_WAIT:
            break
        f = f.f_back
    else:
        return
    loc = f.f_locals
    cond, waiter = loc.get("self"), loc.get("waiter")
    waiters = getattr(cond, "_waiters", None)
    if waiter is w.lock and waiters is not None:
        try:
            waiters.remove(waiter)
        except ValueError:
            pass  # notified already (then w was handed its lock, passed on above)


def _abandoned_owner(owner: int | None) -> bool:
    """owner is a goroutine of a run that has ended: abandoned, it will never release.

    Goroutine identities are ``identbase - goid`` with goid < 2**32 (g.py), so the
    current run's lie in (identbase - 2**32, identbase); any other negative one is an
    earlier run's, and its goroutines are either finished (their releases done) or
    abandoned. Go's process ends with main; a Python process goes on to atexit
    (``logging.shutdown`` takes every handler's lock), so an RLock an abandoned
    goroutine held is handed to the next acquirer instead of hanging it forever.
    """
    if owner is None or owner >= 0:
        return False
    s = _sched.current
    return s is None or not s.identbase - (1 << 32) < owner < s.identbase


class RLock:
    """``_thread.RLock`` for goroutines: owned by a goroutine (``goroutine_ident``).

    Same interface and errors as ``_thread.RLock``: ``acquire``, ``release``
    (RuntimeError "cannot release un-acquired lock" when not the owner),
    ``locked``, the ``_is_owned``/``_release_save``/``_acquire_restore``
    protocol that ``threading.Condition`` uses, ``_recursion_count``,
    ``_at_fork_reinit``.
    """

    __slots__ = ("__weakref__", "_block", "_count", "_owner", "_raw")

    def __init__(self) -> None:
        self._block = Lock()
        self._raw = self._block._raw  # the block's state, read directly on the fast paths
        self._owner: int | None = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = goroutine_ident()
        if self._owner == me:
            if timeout != -1 or blocking is not True:
                _check_args(blocking, timeout)
            self._count += 1
            return True
        if timeout != -1 or blocking is not True:
            _check_args(blocking, timeout)
        try:
            t = _tls.c
        except AttributeError:
            t = _thread_tracing()
        v = t[0]
        t[0] = v + 1  # no callback until the owner is recorded (_thread_tracing)
        try:
            if self._raw.acquire(False):
                self._owner = me
                self._count = 1
                return True
            if not blocking:
                return False
            return self._acquire_slow(me, timeout, t)
        finally:
            t[0] = v

    def _acquire_slow(self, me: int, timeout: float, t: memoryview) -> bool:
        """Contended (the thread's tracing counter t raised by the caller): take the lock
        from an abandoned holder, block a thread, or park a goroutine; owner me if taken."""
        if _abandoned_owner(self._owner):
            # the holder never runs again: the lock (still locked) is ours
            self._owner = me
            self._count = 1
            return True
        if timeout == 0:
            return False
        cur = _running_g()
        if cur is None:
            if not self._raw.acquire(True, timeout):
                return False
        elif not self._block._park(cur[0], cur[1], timeout, WaitReason.THREAD_RLOCK, self, t):
            return False
        self._owner = me  # a hand-off recorded it already (_own); a second try did not
        self._count = 1
        return True

    def release(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        # goroutine_ident inlined: no Python call on the uncontended path (a with's exit
        # runs one frame deeper than its body and must not fail at the recursion limit,
        # where CPython's C RLock, which adds no frame, never does).
        s = _sched.current
        gp = s.m0.curg if s is not None and s.m0.tid == _get_ident() else None
        me = s.identbase - gp.goid if s is not None and gp is not None and gp is not s.thread_g \
            else _get_ident()
        count = self._count
        if count == 0 or self._owner != me:
            raise RuntimeError("cannot release un-acquired lock")
        if count > 1:
            self._count = count - 1
            return
        try:
            t = _tls.c
        except AttributeError:
            t = _thread_tracing()
        v = t[0]
        t[0] = v + 1  # no callback between the owner's clearing and the unlock
        try:
            self._count = 0
            self._owner = None
            block = self._block
            if block._waiters:
                block._handoff(block._waiters)
                return
            self._raw.release()  # Lock.release, inlined
            if block._waiters:
                block._recheck()
        finally:
            t[0] = v

    def locked(self) -> bool:
        return self._count > 0

    def releasable_by_thread(self) -> bool:
        """For checkdead: only the owner may release an RLock; True if that is a thread.

        No owner recorded while goroutines wait is a thread's window too: between
        taking ``_raw`` and storing itself as the owner (its blocking acquire returned
        from the wait and waits for the GIL the M holds), or in its release between
        clearing the owner and the hand-off to a waiter that queued meanwhile
        (``_recheck``, after the unlock, where the GIL can pass to the M). No goroutine
        is ever seen there (a hand-off records the waiter first, ``_own``; a
        goroutine's own window has no switch in it), so while another thread lives the
        M waits for it, and reports the deadlock once no thread is left.
        """
        owner = self._owner
        return owner is None or (owner >= 0 and owner != _main_tid())

    def _is_owned(self) -> bool:
        return self._count > 0 and self._owner == goroutine_ident()

    def _recursion_count(self) -> int:
        return self._count if self._is_owned() else 0

    def _release_save(self) -> tuple[int, int | None]:
        if self._count == 0:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        t = _thread_tracing_now()
        v = t[0]
        t[0] = v + 1
        try:
            self._count = 0
            self._owner = None
            self._block.release()
        finally:
            t[0] = v
        return state

    def _acquire_restore(self, state: tuple[int, int | None]) -> None:
        count, owner = state
        t = _thread_tracing_now()
        v = t[0]
        t[0] = v + 1
        try:
            if not self._raw.acquire(False):
                self._acquire_slow(goroutine_ident(), -1, t)
            self._count = count
            self._owner = owner
        finally:
            t[0] = v

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._raw = self._block._raw
        self._owner = None
        self._count = 0

    __enter__ = acquire  # one Python call fewer per ``with``; returns True, as the C one
    __reduce_ex__ = _no_pickle("_thread.RLock")

    def __repr__(self) -> str:
        state = "locked" if self._count else "unlocked"
        owner = self._owner if self._owner is not None else 0
        return (f"<{state} {type(self).__module__}.{type(self).__qualname__} object "
                f"owner={owner} count={self._count} at {id(self):#x}>")


def _main_tid() -> int | None:
    s = _sched.current
    return s.m0.tid if s is not None else None


# ---------------------------------------------------------------------------
# threading.local, per goroutine


class _LocalImpl:
    """The per-context dicts of one ``local`` (CPython's _threading_local._localimpl)."""

    __slots__ = ("__weakref__", "args", "dicts", "lock", "thread_local")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = (args, kwargs)
        self.lock = RLock()
        # goroutine ident -> dict, for goroutines other than the main one
        self.dicts: dict[int, dict[str, Any]] = {}
        # the main goroutine's, the threads' and no-runtime callers' dicts live here
        self.thread_local = _raw_local()

    def get_dict(self) -> tuple[dict[str, Any], bool]:
        """This context's dict, and whether it was just created."""
        ident = goroutine_ident()
        if ident >= 0:
            tl = self.thread_local
            d: dict[str, Any] | None = getattr(tl, "d", None)
            if d is not None:
                return d, False
            d = tl.d = {}
            return d, True
        d = self.dicts.get(ident)
        if d is not None:
            return d, False
        d = self.dicts[ident] = {}
        cur = _running_g()
        assert cur is not None
        gp = cur[1]
        if gp.onexit is None:
            gp.onexit = []
        gp.onexit.append(_dropper(weakref.ref(self), ident))
        return d, True


def _dropper(ref: weakref.ref[_LocalImpl], ident: int) -> Callable[[], None]:
    """The exit hook that drops one goroutine's dict from one local (if it still exists)."""
    def drop() -> None:
        impl = ref()
        if impl is not None:
            impl.dicts.pop(ident, None)
    return drop


_MISSING: Final = object()
_READONLY: Final = "{!r} object attribute '__dict__' is read-only"


def _context_dict(self: local) -> tuple[_LocalImpl, dict[str, Any]]:
    """The calling context's dict of self; a new one is initialised by the class's __init__."""
    impl: _LocalImpl = object.__getattribute__(self, "_local__impl")
    d, new = impl.get_dict()
    if new:
        with impl.lock:
            object.__setattr__(self, "__dict__", d)
            args, kwargs = impl.args
            type(self).__init__(self, *args, **kwargs)
    return impl, d


class local:
    """``threading.local`` with one namespace per goroutine (see the module essay).

    A name the class does not define (plain per-context data, the usual case)
    is read and written in the context's dict directly. Any other name (a
    property, a method, ``__dict__``) goes through the class's own machinery
    with ``__dict__`` swapped to the context's under ``impl.lock`` (CPython's
    _threading_local), which is goroutine-aware, so a goroutine preempted in
    a property's code keeps its dict.
    """

    __slots__ = ("__dict__", "_local__impl")

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        impl = _LocalImpl(args, kwargs)
        object.__setattr__(self, "_local__impl", impl)
        # The creating context's dict exists and __init__ runs on it (the caller's
        # own __init__ call, made by type.__call__, is that run).
        d, _new = impl.get_dict()
        object.__setattr__(self, "__dict__", d)
        return self

    __reduce_ex__ = _no_pickle("_thread._local")

    def __getattribute__(self, name: str) -> Any:
        impl, d = _context_dict(self)
        if getattr(type(self), name, _MISSING) is _MISSING:
            try:
                return d[name]
            except KeyError:
                pass  # the class's machinery raises the right error (or runs __getattr__)
        with impl.lock:
            object.__setattr__(self, "__dict__", d)
            return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(_READONLY.format(type(self).__name__))
        impl, d = _context_dict(self)
        if getattr(type(self), name, _MISSING) is _MISSING:
            d[name] = value
            return
        with impl.lock:
            object.__setattr__(self, "__dict__", d)
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(_READONLY.format(type(self).__name__))
        impl, d = _context_dict(self)
        with impl.lock:
            object.__setattr__(self, "__dict__", d)
            object.__delattr__(self, name)


# ---------------------------------------------------------------------------
# Installing and removing


class _ImportThread(types.ModuleType):
    """What importlib._bootstrap sees as ``_thread`` during a run."""

    def __init__(self) -> None:
        super().__init__("_thread")
        self.get_ident = goroutine_ident
        self.allocate_lock = Lock
        self.RLock = RLock

    def __getattr__(self, name: str) -> Any:
        return getattr(_thread, name)


def patch_mp_rlock(sync: types.ModuleType) -> None:
    """Make ``multiprocessing.synchronize.RLock`` (what ``multiprocessing.RLock()`` and
    ``multiprocessing.Condition()`` make) exclude goroutines of one thread.

    Its C ``SemLock`` (RECURSIVE_MUTEX) is owned by (process, thread ident): every
    goroutine of the owner's thread passed ``ISMINE`` and entered it (lost updates,
    adversarial F7). The replacement, a subclass named as the original (pickling by
    reference finds it; a child without gort gets the original, the state is the
    same), puts a goroutine-aware RLock of this module (``_gate``, per process: made
    again after a fork or an unpickling) in front of the SemLock: a goroutine takes
    the gate, then the SemLock (re-entered by the gate's owner only, so its count is
    the owner's); another goroutine parks on the gate; threads block on it; other
    processes are excluded by the SemLock as before. Release: the SemLock, then the
    gate, after checking the caller owns the gate (the SemLock's own check is per
    thread). ``multiprocessing.Lock`` needs nothing: not recursive, a goroutine
    waiting on one is recovered by sysmon's lock-wait switch.
    """
    base = sync.RLock
    if getattr(base, "_gort_gate", False):
        return

    class GatedRLock(base):  # type: ignore[misc, valid-type]
        _gort_gate = True

        def _make_methods(self) -> None:
            self._gate = RLock()
            self._gate_pid = os.getpid()
            self.acquire = self._acquire
            self.release = self._release

        def _gate_now(self) -> RLock:
            if self._gate_pid != os.getpid():  # a forked child: the parent's holders are gone
                self._make_methods()
            gate: RLock = self._gate
            return gate

        def _acquire(self, block: bool = True, timeout: float | None = None) -> bool:
            gate = self._gate_now()
            if not block:
                if not gate.acquire(False):
                    return False
            elif timeout is None:
                gate.acquire()
            else:
                end = time.monotonic() + timeout
                if not gate.acquire(True, max(timeout, 0)):
                    return False
                timeout = max(end - time.monotonic(), 0)
            try:
                ok: bool = self._semlock.acquire(block, timeout)
            except BaseException:
                gate.release()
                raise
            if not ok:
                gate.release()
            return ok

        def _release(self) -> None:
            gate = self._gate_now()
            if not gate._is_owned():
                raise AssertionError("attempt to release recursive lock not owned by thread")
            self._semlock.release()
            gate.release()

        def __enter__(self) -> bool:
            return self._acquire()

        def __exit__(self, *args: Any) -> None:
            self._release()

    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(GatedRLock, attr, getattr(base, attr))
    setattr(sync, "RLock", GatedRLock)  # noqa: B010 - a module typeshed types fully


def _patch_pylocal(mod: types.ModuleType) -> None:
    """``_threading_local.local`` (CPython's pure-Python local, keyed by the thread: one
    namespace for all goroutines of a thread, adversarial F8) is this module's ``local``,
    as ``threading.local`` is."""
    setattr(mod, "local", local)  # noqa: B010 - typeshed types the module's own class


_PATCHES: Final[tuple[tuple[Any, str, Any], ...]] = (
    (_thread, "allocate_lock", Lock),
    (_thread, "RLock", RLock),
    (_thread, "_local", local),
    (threading, "Lock", Lock),
    (threading, "_allocate_lock", Lock),
    (threading, "_CRLock", RLock),
    # threading's pure-Python RLock, owned by get_ident(): the thread's, shared by all its
    # goroutines (adversarial F4: a second goroutine entered one made in a run).
    (threading, "_PyRLock", RLock),
    (threading, "local", local),
    (queue, "SimpleQueue", getattr(queue, "_PySimpleQueue", queue.SimpleQueue)),
    (_bootstrap, "_thread", _ImportThread()),
    # dataclasses' __repr__ recursion guard (3.11: keyed by _thread.get_ident()): per
    # goroutine, so one goroutine parked in a field's repr does not make the others'
    # repr of the same object "..." (adversarial F2).
    *(((dataclasses, "_thread", _ImportThread()),) if hasattr(dataclasses, "_thread") else ()),
)

# Modules whose own names are left alone by ``patch``'s rebinding pass: gort's (the
# runtime keeps CPython's factories on purpose, lock_futex.py), those _PATCHES edits, and
# _queue (the C SimpleQueue's home, which queue.SimpleQueue names).
_OWN_PREFIX: Final = "gort."
_PATCHED_MODULES: Final = frozenset({"_thread", "threading", "_queue"})


def patch() -> int:
    """Make thread locks goroutine-aware from now on; return how many references were rebound.

    Called once, when ``gort`` is imported (gevent's order: ``patch_thread``
    before the program makes its locks), so that a lock made any time after,
    in a run or before one, through ``threading`` or a factory taken from it
    earlier, is one of this module's. Besides the attributes in ``_PATCHES``,
    every reference to a replaced factory that the program or a library took
    before ``import gort`` is rebound (``_rebind``): names in modules (``from
    threading import Lock``; ``functools.RLock`` on 3.11, which
    ``cached_property`` uses), and, found through the garbage collector, class
    and instance attributes, closure cells (a dataclass's ``default_factory``),
    default arguments, ``defaultdict(threading.Lock)``, ``functools.partial``
    and ``staticmethod``/``classmethod`` wrappers. Names bound to the lock
    *type* under a type's name (``LockType`` aliases, for ``isinstance``) keep
    the type. The plain RLocks that already exist are remembered
    (``find_raw_rlocks``). The objects stay installed for the process's life:
    outside a run they behave as the plain ones (measured in docs/design.md:
    ``with lock`` 128 -> 194 ns from a thread). A second call does nothing.
    """
    global _pre_import_rlocks
    if getattr(_thread, "allocate_lock") is Lock:  # noqa: B009 - typeshed types it as the C one
        return 0
    replaced: dict[int, Any] = {}
    olds: list[Any] = []
    for obj, name, new in _PATCHES:
        old = getattr(obj, name)
        if not isinstance(old, types.ModuleType):
            replaced[id(old)] = new
            olds.append(old)
        setattr(obj, name, new)
    n = _rebind(olds, replaced)
    # reprlib.recursive_repr's guard (collections, 3.12+ dataclasses), keyed the same way;
    # set apart from _PATCHES so that no other reference to get_ident is rebound.
    reprlib.get_ident = goroutine_ident  # type: ignore[attr-defined]
    _patch_io()
    for name, then in (("multiprocessing.synchronize", patch_mp_rlock),
                       ("_threading_local", _patch_pylocal)):
        mod = sys.modules.get(name)
        if mod is not None:
            then(mod)
        else:
            after_import(name, then)
    _pre_import_rlocks = [weakref.ref(lk) for lk in gc.get_referrers(*RAW_RLOCK_KINDS)
                          if type(lk) in RAW_RLOCK_KINDS]
    return n


# -- io's buffered objects -----------------------------------------------------------
#
# A C buffered object (BufferedReader, BufferedWriter, BufferedRandom, BufferedRWPair)
# holds a lock of its own, owned by the thread, while its raw stream's read or write
# runs. Over a Python raw stream that parks its goroutine (a socket's SocketIO under
# gort, a raw whose write waits for a goroutine-aware lock), the next goroutine of the
# thread entering the object got "RuntimeError: reentrant call inside
# <_io.BufferedWriter>" and its bytes were lost, where a second thread waits
# (helper-74, F1 and F2: socket.makefile shared by goroutines, every run). From
# ``import gort`` on, ``io``'s names for them make, over such a raw stream, a subclass
# whose methods a goroutine-aware RLock (reentrant: close calls flush) makes goroutines
# take in turns, as gort.net's Conn.makefile did first. Over CPython's own C raw streams
# (FileIO, BytesIO: no Python code runs inside) they make the plain objects, at no cost;
# ``open()`` makes those in C anyway. ``isinstance`` and ``issubclass`` against the
# names answer for the plain types too. Left plain: objects made through ``_io`` or a
# name bound before ``import gort`` (``from io import BufferedWriter``), and
# TextIOWrapper, which CPython does not make safe for threads either.

_C_RAWS: Final = frozenset({io.FileIO, io.BytesIO})


class _TurnsMeta(type):
    """The metaclass of io's patched buffered types: the plain C type's instances and
    subclasses are the patched type's too (``isinstance(open(p, "rb"),
    io.BufferedReader)``); a program's subclass of it answers for its own only."""

    def __instancecheck__(cls, obj: Any) -> bool:
        plain = cls.__dict__.get("_plain")
        return isinstance(obj, plain) if plain is not None else type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        plain = cls.__dict__.get("_plain")
        return issubclass(sub, plain) if plain is not None else type.__subclasscheck__(cls, sub)


def _turn(plain: type, name: str, attr: str) -> Callable[..., Any]:
    """plain's method name, taken under the goroutine-aware RLocks the object keeps in
    its attribute attr (a tuple), in that order."""
    method = getattr(plain, name)

    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        turns = getattr(self, attr)
        for t in turns:
            t.acquire()
        try:
            return method(self, *args, **kwargs)
        finally:
            # A goroutine abandoned inside the call and unwound by the reaper (not as
            # itself) leaves the turns to their next acquirer (_abandoned_owner).
            if not abandon.reaping:
                for t in reversed(turns):
                    t.release()

    guarded.__name__ = name
    guarded.__qualname__ = f"{plain.__name__}.{name}"
    guarded.__doc__ = method.__doc__
    return guarded


def turns(plain: type, reads: tuple[str, ...], writes: tuple[str, ...],
          others: tuple[str, ...], pair: bool = False) -> type:
    """A subclass of io's C buffered type ``plain`` whose methods goroutines take in
    turns, under a goroutine-aware RLock per object, as threads take them under the C
    object's lock: one for all of them, or (``pair``: BufferedRWPair, a reader and a
    writer inside) one for ``reads`` and one for ``writes``, ``others`` taking both. Made
    over raw streams of CPython's own C types (the first argument, or two for a pair),
    the plain object instead."""
    raws = 2 if pair else 1

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if cls is made and len(args) >= raws and all(type(a) in _C_RAWS for a in args[:raws]):
            return plain(*args, **kwargs)  # nothing parks inside: the plain object
        return plain.__new__(cls)  # type: ignore[call-overload]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        plain.__init__(self, *args, **kwargs)  # type: ignore[misc]
        read = RLock()
        write = RLock() if pair else read
        self._gort_reads = (read,)
        self._gort_writes = (write,)
        self._gort_both = (write, read) if pair else (read,)

    ns: dict[str, Any] = {name: _turn(plain, name, "_gort_reads") for name in reads}
    ns.update((name, _turn(plain, name, "_gort_writes")) for name in writes)
    ns.update((name, _turn(plain, name, "_gort_both")) for name in others)
    ns.update(__new__=__new__, __init__=__init__, __module__="io", __doc__=plain.__doc__,
              _plain=plain)
    made = _TurnsMeta(plain.__name__, (plain,), ns)
    return made


_READS: Final = ("read", "read1", "readinto", "readinto1", "readline", "readlines", "peek",
                 "__next__")
_WRITES: Final = ("write", "flush")
_OTHERS: Final = ("close", "detach", "seek", "tell", "truncate")
BufferedReader: Final = turns(io.BufferedReader, _READS, (), _OTHERS)
BufferedWriter: Final = turns(io.BufferedWriter, (), _WRITES, _OTHERS)
BufferedRandom: Final = turns(io.BufferedRandom, _READS, _WRITES, _OTHERS)
BufferedRWPair: Final = turns(io.BufferedRWPair, _READS, _WRITES, ("close",), pair=True)


def _patch_io() -> None:
    for made in (BufferedReader, BufferedWriter, BufferedRandom, BufferedRWPair):
        setattr(io, made.__name__, made)


def _namespaces() -> tuple[set[int], set[int]]:
    """ids of the module namespaces: those whose references ``_rebind`` leaves alone
    (gort's own, since the runtime keeps CPython's factories on purpose, lock_futex.py;
    the modules ``_PATCHES`` edits; _queue, the C SimpleQueue's home), and all of them."""
    skip = set()
    every = set()
    for modname, mod in list(sys.modules.items()):
        try:
            ns = getattr(mod, "__dict__", None)
        except Exception:  # a lazy module that imports on access: not one to rebind
            continue
        if not isinstance(ns, dict):
            continue
        every.add(id(ns))
        if modname in _PATCHED_MODULES or modname == "gort" or modname.startswith(_OWN_PREFIX):
            skip.add(id(ns))
    return skip, every


def _rebind(olds: list[Any], replaced: dict[int, Any]) -> int:
    """Point every reference to a replaced factory that the program can reach at the new one.

    One ``gc.get_referrers`` pass over the tracked objects (about 4.5 ms with 46,000
    of them, after importing asyncio, email, logging, unittest, ssl, requests; well
    under 1 ms under ``gort run``, which imports gort first) finds the holders; each
    kind is edited the way its own API allows. A dict that is a type's ``__dict__``
    is edited through ``setattr`` (the type's attribute cache must hear of it);
    module namespaces and instance dicts directly. What holds a factory where
    nothing can be edited (a list, a frame's locals, a C structure, a bound method)
    keeps it, and the locks it makes are plain (docs/design.md says what then).
    """
    skip, modules = _namespaces()
    n = 0
    tuples: list[tuple[Any, ...]] = []
    other_dicts: list[tuple[dict[Any, Any], list[Any]]] = []  # a type's, or an instance's

    def new_for(v: Any) -> Any:
        return replaced.get(id(v))

    for ref in gc.get_referrers(*olds):
        if isinstance(ref, defaultdict) and new_for(ref.default_factory) is not None:
            ref.default_factory = new_for(ref.default_factory)
            n += 1
        if isinstance(ref, dict):
            if id(ref) in skip:
                continue
            names = [k for k, v in ref.items()
                     if new_for(v) is not None
                     and not (isinstance(k, str) and k.endswith("LockType"))]
            if not names:
                continue
            if id(ref) in modules:
                for k in names:
                    ref[k] = new_for(ref[k])
                n += len(names)
            else:
                other_dicts.append((ref, names))
        elif isinstance(ref, types.CellType):
            ref.cell_contents = new_for(ref.cell_contents)
            n += 1
        elif isinstance(ref, tuple):
            tuples.append(ref)
        elif isinstance(ref, (staticmethod, classmethod)) and new_for(ref.__func__) is not None:
            ref.__init__(new_for(ref.__func__))  # type: ignore[misc]  # rebinds the callable
            n += 1
        elif isinstance(ref, functools.partial) and new_for(ref.func) is not None:
            state = (new_for(ref.func), ref.args, ref.keywords, vars(ref) or None)
            ref.__setstate__(state)  # type: ignore[attr-defined]
            n += 1
        elif isinstance(ref, dataclasses.Field) and new_for(ref.default_factory) is not None:
            ref.default_factory = new_for(ref.default_factory)
            n += 1
        elif not isinstance(ref, (type, types.ModuleType, types.FrameType)):
            n += _rebind_inline_attrs(ref, new_for)
    if other_dicts:  # a type's __dict__ is edited through setattr (its attribute cache)
        owners = _dict_owners([d for d, _ in other_dicts])
        for d, names in other_dicts:
            owner = owners.get(id(d))
            for k in names:
                if owner is not None:
                    setattr(owner, k, new_for(d[k]))
                else:
                    d[k] = new_for(d[k])
            n += len(names)
    if tuples:  # default arguments: one more pass finds the functions that hold them
        ids = {id(t) for t in tuples}
        for fn in gc.get_referrers(*tuples):
            defaults = getattr(fn, "__defaults__", None) \
                if isinstance(fn, types.FunctionType) else None
            if defaults is not None and id(defaults) in ids:
                fn.__defaults__ = tuple(new_for(v) if new_for(v) is not None else v
                                        for v in defaults)
                n += 1
    return n


def _rebind_inline_attrs(obj: Any, new_for: Callable[[Any], Any]) -> int:
    """An instance's attributes: inline ones (3.11+: no dict object until asked), slots."""
    n = 0
    for cls in type(obj).__mro__:  # __slots__ members
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            member = cls.__dict__.get(name)
            if isinstance(member, types.MemberDescriptorType):
                try:
                    new = new_for(member.__get__(obj, cls))
                except AttributeError:  # unset
                    continue
                if new is not None:
                    member.__set__(obj, new)
                    n += 1
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:  # no __dict__ (slots only, a C object)
        return n
    if isinstance(d, dict):
        for k, v in list(d.items()):
            new = new_for(v)
            if new is not None and not (isinstance(k, str) and k.endswith("LockType")):
                d[k] = new
                n += 1
    return n


def _dict_owners(dicts: list[dict[Any, Any]]) -> dict[int, type]:
    """id(d) -> the type whose ``__dict__`` d is, for those of dicts that are one (one
    ``gc.get_referrers`` pass; a type's mappingproxy refers to its dict)."""
    owners: dict[int, type] = {}
    for t in gc.get_referrers(*dicts):
        if isinstance(t, type):
            for d in gc.get_referents(vars(t)):
                owners[id(d)] = t
    return owners


_pre_import_rlocks: list[weakref.ref[Any]] = []
"""The plain RLocks that existed when gort was imported (``patch``), weakly."""


def _free(lk: Any) -> bool:
    """A plain lock or RLock that nobody holds, this thread included."""
    if not lk.acquire(False):
        return False
    try:
        count: Callable[[], int] | None = getattr(lk, "_recursion_count", None)
        return count is None or count() == 1
    finally:
        lk.release()


def adopt_module_locks() -> int:
    """Give importlib's live per-module locks goroutine-aware inner locks; return how many.

    A runtime can start in the middle of an import (an implicit start from a
    module's top level): that module's ``_ModuleLock`` was made with plain
    locks and is owned by the thread's ident, which is the main goroutine's.
    A goroutine importing the same module must park on it, not block the
    thread. Its inner locks are held only inside ``_ModuleLock``'s own
    methods, so between them (now: this thread runs gort) they are free and
    can be swapped; a lock found held (another thread mid-acquire) is left as
    it is (gevent's ``_patch_existing_locks`` fixes owners the same way).
    """
    n = 0
    for ref in list(_bootstrap._module_locks.values()):
        ml = ref()
        if ml is None or isinstance(ml.wakeup, Lock):
            continue
        if _free(ml.lock) and _free(ml.wakeup):
            ml.lock = RLock() if isinstance(ml.lock, _RawRLock) else Lock()
            ml.wakeup = Lock()
            n += 1
    return n


def install(s: Sched) -> None:
    """At a run's start: importlib's live module locks adopted, plain RLocks found."""
    adopt_module_locks()
    found = find_raw_rlocks()
    c_kind = RAW_RLOCK_KINDS[0]
    s.raw_crlocks = tuple(lk for lk in found if type(lk) is c_kind)
    s.raw_pyrlocks = tuple(lk for lk in found if type(lk) is not c_kind)
    own = {id(v) for v in vars(threading).values()}
    s.park_rlocks = tuple(lk for lk in found if id(lk) not in own)
    s.on_rlock_park = rlock_park_check
    s.closers.append(functools.partial(forget_waits, s))
    _blockreport[0] = bool(s.debug.blockreport)
    abandon.before_unwind = release_abandoned_with


def rlock_park_check(s: Sched, gp: G, reason: Any) -> None:
    """gopark, while plain RLocks made before the run exist: report (once per lock) a
    goroutine that parks while its thread owns one.

    Preemption waits while such a lock is held, but a park cannot: the goroutine
    asked to wait. Another goroutine of the thread can then enter the lock (a C
    RLock is owned by the thread, and nothing runs when its ``acquire``
    succeeds), so the fault that cannot be prevented is made visible. Cost: an
    ``_is_owned()`` call per such lock per park (about 40 ns each); ``gort run``
    programs have none (gort is imported first; threading's own RLock is
    skipped, as threading holds it only inside its own code).
    """
    for lk in s.park_rlocks:
        if lk._is_owned() and id(lk) not in s.rlock_park_reported:
            s.rlock_park_reported.add(id(lk))
            if s.debug.blockreport:
                sys.stderr.write(
                    f"gort: goroutine {gp.goid} parks [{reason}] while its thread owns a "
                    f"plain RLock made before gort was imported ({lk!r}): another "
                    "goroutine of the thread can enter it while this one waits.\n"
                    f"goroutine {gp.goid} [running]:\n"
                    + "".join(line + "\n" for line in stack_lines(sys._getframe(1)))
                    + "Make the lock after import gort (gort run imports gort first), or "
                    "use gort.sync.Mutex. This report is printed once per lock; "
                    "GODEBUG=blockreport=0 turns it off.\n\n")


RAW_RLOCK_KINDS: Final[tuple[type, ...]] = (type(_RawRLock()), threading._PyRLock)  # type: ignore[attr-defined]
"""The types of plain (thread-owned) RLocks: CPython's C one and threading's Python one."""


def find_raw_rlocks() -> tuple[Any, ...]:
    """The plain RLocks alive at the run's start: those that existed when gort was
    imported, wherever they are kept, and those modules and their classes hold.

    A plain RLock is owned by the thread, so every goroutine of the M could
    enter it; preemption therefore waits while the M owns one of these
    (preempt.py, "thread lock held"), however it was taken (``with``, an
    explicit ``acquire()``). After ``import gort`` a plain RLock is made only
    through a factory reference ``patch`` could not rebind (a list, a C
    structure); those kept in modules and classes are found here too. Cost: a
    pass over the modules' namespaces at start (about 2 ms with 600 modules).
    """
    kinds = RAW_RLOCK_KINDS
    found: dict[int, Any] = {}
    for ref in _pre_import_rlocks:
        lk = ref()
        if lk is not None:
            found[id(lk)] = lk
    for mod in list(sys.modules.values()):
        ns = getattr(mod, "__dict__", None)
        if not isinstance(ns, dict):
            continue
        for v in list(ns.values()):
            if type(v) in kinds:
                found[id(v)] = v
            elif isinstance(v, type) and v.__module__ == ns.get("__name__"):
                for w in list(vars(v).values()):
                    if type(w) in kinds:
                        found[id(w)] = w
    return tuple(found.values())
