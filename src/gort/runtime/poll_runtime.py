"""Waiting for a descriptor (Go: netpoll.go's poll_runtime_* functions, netpollblock).

What gort.internal.poll (Go: internal/poll) calls to park a goroutine until
its socket is ready, to set deadlines, and to close. The PollDesc itself and
the event side are netpoll.py (L1: the scheduler polls without reaching up
here); this is the blocking side (L3: it parks).

A wait (``poll_wait``, Go's pollWait with netpollblock inlined): an edge
already recorded (``pd.ready``) is consumed
and the caller retries its I/O at once; otherwise the goroutine parks with
Go's wait reason "IO wait", registered in ``pd.g[mode]``, and is readied by
exactly one of: an event (Go's netpollready, inlined in netpoll.Netpoll.poll), its
deadline's timer, ``poll_unblock`` (a close), or ``proc.goraise`` through
``IOWait.cancel``. The caller learns which from ``pd`` after it runs again:
closing, deadline expired, or ready (Go: netpollcheckerr).

Deadlines are runtime timers on the P's heap (timers.py), as in Go: one per
mode, stopped and replaced when the deadline changes. A deadline moved while
a goroutine waits takes effect at once: moved into the past it wakes the
waiter with a timeout, moved further it re-arms the timer.

Closing (``poll_unblock``, then ``Netpoll.close_pd``, then the caller closes
the fd): waiters wake and raise, the fd is unregistered, and only then
closed, so no event and no read can reach a descriptor number the kernel has
reused. One M runs every goroutine, so no goroutine can be inside a read of
the fd while it closes (Go needs fdMutex reference counts for that). A goroutine
the poller readied but that has not run yet is the exception: its close wakes no
one, and it would go on to its system call on whatever the number names next
(another goroutine's new pipe: its data read, or written into). So a woken
``poll_wait`` looks at ``closing`` before the edge (Go's fdMutex makes the close
wait for the reader instead; here the reader gets ErrClosed, as if it came later).
"""

from __future__ import annotations

from time import monotonic_ns
from typing import Any, Final

from . import proc
from . import sched as _sched
from .chan import CORE
from .error import throw
from .g import G, Gstatus, WaitReason
from .netpoll import READ, WRITE, Netpoll, PollDesc, netpollunblock
from .timers import Timer, Timers

# poll_wait's results (Go: pollNoError, pollErrClosing, pollErrTimeout)
POLL_OK: Final = 0
POLL_ERR_CLOSING: Final = 1
POLL_ERR_TIMEOUT: Final = 2

_IO_WAIT = WaitReason.IO_WAIT
_WAITING = Gstatus.WAITING


class IOWait:
    """What a goroutine parked on a descriptor waits on (G.waiting)."""

    __slots__ = ("mode", "pd")

    def __init__(self, pd: PollDesc, mode: int) -> None:
        self.pd = pd
        self.mode = mode

    def cancel(self, gp: G) -> None:
        """goraise took gp off the wait: leave pd with no waiter (the edge stays recorded)."""
        pd = self.pd
        if pd.g[self.mode] is gp:
            pd.g[self.mode] = None
            s = proc.running()
            assert s is not None
            s.netpoll.nwait -= 1

    def __repr__(self) -> str:
        return f"<IOWait fd={self.pd.fd} {'read' if self.mode == READ else 'write'}>"


def poll_open(fd: int) -> PollDesc:
    """Register fd with the running runtime's netpoller (Go: poll_runtime_pollOpen)."""
    pd = proc.current_sched().netpoll.open(fd)
    pd.waits = (IOWait(pd, READ), IOWait(pd, WRITE))
    return pd


def poll_reset(pd: PollDesc, mode: int) -> int:
    """Before an I/O attempt: check for errors, forget an old edge (Go: pollReset).

    The attempt itself sees whatever the edge announced; an edge arriving
    after this is kept for the wait that follows an EAGAIN.
    """
    if pd.closing:
        return POLL_ERR_CLOSING
    if pd.dl[mode] < 0:
        return POLL_ERR_TIMEOUT
    pd.ready[mode] = False
    return POLL_OK


def poll_wait(pd: PollDesc, mode: int) -> int:
    """Wait until pd is ready for mode; return POLL_OK or the error (Go: pollWait).

    Go's loop with netpollblock inlined (the hottest path of every socket): a
    recorded edge is consumed at once; otherwise park until an event, the
    deadline, a close or goraise readies the goroutine, and look again.
    Raises what proc.goraise delivered.
    """
    while True:
        if pd.closing:
            return POLL_ERR_CLOSING
        if pd.dl[mode] < 0:
            return POLL_ERR_TIMEOUT
        if pd.ready[mode]:
            pd.ready[mode] = False
            return POLL_OK
        gp = proc.getg()
        if pd.g[mode] is not None:  # callers take turns (internal/poll.FD)
            raise throw(f"netpollblock: two goroutines wait on fd {pd.fd} for "
                        f"{'reading' if mode == READ else 'writing'}")
        pd.g[mode] = gp
        s = _sched.current
        assert s is not None
        s.netpoll.nwait += 1
        _gopark(gp, _IO_WAIT, _WAITING, pd.waits[mode])
        if pd.ready[mode] and not pd.closing:
            pd.ready[mode] = False
            return POLL_OK
        # Woken with no edge: a deadline or a close (checked above), or a deadline
        # that fired and was moved again before this goroutine ran (wait on); or
        # readied by an edge, then closed before it ran (see above).


def _load_core(pure: Any) -> Any:
    """gopark's C fast path (gort._core.setup_park) where the C core runs, else pure.

    The C gopark parks the running goroutine and switches with no Python frame of
    gopark or schedule on the way, schedule's fast paths (runnext; the local ring's
    head, which every goroutine the netpoller readies takes) in C; anything else (a
    tracer, a preemption request or hook, plain RLocks to ask about, a short recursion
    budget, the slow round of find_runnable) as the pure gopark does it, which it keeps
    as ``__wrapped__``. Measured: an in-process loopback echo, about -0.3 us per
    park (docs/net.md).
    """
    if CORE != "C":
        return pure
    from .. import _core  # type: ignore[attr-defined]

    fast = _core.setup_park({"gopark": pure, "Netpoll": Netpoll})
    for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(fast, attr, getattr(pure, attr))
    fast.__wrapped__ = pure
    return fast


_gopark = _load_core(proc.gopark)


def _timers() -> Timers:
    s = proc.running()
    assert s is not None
    assert s.m0.p is not None
    return s.m0.p.timers


def _deadline_fired(arg: tuple[PollDesc, int], _now: int) -> None:
    """A deadline's timer (Go: netpolldeadlineimpl): expire it and wake the waiter."""
    pd, mode = arg
    pd.timer[mode] = None
    if pd.closing:
        return
    pd.dl[mode] = -1
    s = proc.running()
    assert s is not None
    gp = netpollunblock(s.netpoll, pd, mode, False)
    if gp is not None:
        proc.goready(gp)


def poll_set_deadline(pd: PollDesc, when_ns: int, modes: tuple[int, ...]) -> None:
    """Set the deadline of each mode in modes (Go: poll_runtime_pollSetDeadline).

    ``when_ns``: absolute monotonic ns; 0 for none; a time already past
    expires the deadline at once (waiters wake with a timeout).
    """
    if pd.closing:
        return
    timers = _timers()
    now = monotonic_ns()
    s = proc.running()
    assert s is not None
    for mode in modes:
        t = pd.timer[mode]
        if t is not None:
            timers.delete(t)
            pd.timer[mode] = None
        if when_ns == 0:
            pd.dl[mode] = 0
            continue
        if when_ns <= now:
            pd.dl[mode] = -1
            gp = netpollunblock(s.netpoll, pd, mode, False)
            if gp is not None:
                proc.goready(gp)
            continue
        pd.dl[mode] = when_ns
        t = Timer(when_ns, 0, _deadline_fired, (pd, mode))
        timers.add(t)
        pd.timer[mode] = t


def poll_unblock(pd: PollDesc) -> None:
    """Start closing pd: its waiters wake and see it closing (Go: poll_runtime_pollUnblock)."""
    if pd.closing:
        return
    pd.closing = True
    s = proc.running()
    assert s is not None
    timers = _timers()
    for mode in (READ, WRITE):
        t = pd.timer[mode]
        if t is not None:
            timers.delete(t)
            pd.timer[mode] = None
        gp = netpollunblock(s.netpoll, pd, mode, False)
        if gp is not None:
            proc.goready(gp)


def poll_close(pd: PollDesc) -> None:
    """Unregister pd (after poll_unblock; before the fd is closed) (Go: poll_runtime_pollClose)."""
    if not pd.closing:
        raise RuntimeError("gort: poll_close before poll_unblock: waiters would be left behind")
    s = proc.running()
    if s is not None:
        s.netpoll.close_pd(pd)
