"""The netpoller: where an idle M sleeps, and how it learns which sockets are ready
(Go: the pollDesc half of netpoll.go, and netpoll_epoll.go).

One epoll instance per run. Three kinds of descriptor are registered in it:

- an eventfd, written by ``brk`` (Go: netpollBreak) from any thread to wake
  the M blocked in ``poll``: an offloaded call finished, a thread made a
  call for the M. ``wakeup_pending`` is Go's netpollWakeSig: at most one
  write is in flight, so a burst of wake-ups costs one write and one read.
  Registered level-triggered, as Go does: a non-blocking poll (sysmon's)
  leaves it set, and only a blocking poll drains it, so no wake-up meant for
  the sleeping M is eaten by a look that was not going to sleep.
- a pipe, CPython's signal wake-up fd while a run lasts (sigqueue.py): the C
  signal handler writes one byte per signal to it, so a signal delivered to
  another thread still ends the M's epoll_wait. It cannot be the eventfd: a
  write to an eventfd must be 8 bytes, and CPython writes 1 (EINVAL, which
  CPython reports as an ignored exception on every signal). It is drained
  whenever it is seen readable (the byte only wakes; the handlers run from
  CPython's flag).
- every socket of gort.net, through a ``PollDesc``, registered once, for
  reading and writing, edge-triggered (EPOLLET), when it is opened, and
  unregistered when it is closed. Edge-triggered is Go's choice and the only
  one that costs no system call per wait: level-triggered would report a
  writable socket at every poll unless interest were changed per wait
  (an epoll_ctl per park), and one-shot needs an epoll_ctl per park to re-arm.
  An edge that arrives while nobody waits is kept in the PollDesc as
  ``ready``, so the next wait does not park (Go's pdReady).

PollDesc state (Go: pd.rg/pd.wg, rd/wd, closing), per mode (0 read, 1 write):
``g[mode]`` is the goroutine parked waiting, or None; ``ready[mode]`` is an
edge not yet consumed; ``dl[mode]`` is the deadline (0 none, > 0 monotonic
ns, -1 expired) and ``timer[mode]`` its runtime timer. Owned by the M: only
the M's code touches a PollDesc (gort runs every goroutine on one M), so
there are no atomics. Go's sequence numbers (rseq/wseq, fdseq) protect a
reused pollDesc and timers that cannot be stopped; here a closed PollDesc is
never reused (a new descriptor gets a new object, events are matched to
the object), and a runtime timer stops for good (timers.py), so neither is
needed.

sysmon polls too, without blocking, when the M has not for a while
(``poll_foreign``, Go's sysmon netpoll(0)): it cannot touch PollDescs, so
it queues what it found on ``pending`` and wakes the M; the M turns them
into runnable goroutines at its next scheduling round (``take_pending``).
An event found by sysmon for a descriptor closed meanwhile lands on the
closed PollDesc and is dropped; one for a descriptor number reused meanwhile
is a spurious readiness, which every waiter tolerates (it retries the I/O,
gets EAGAIN and waits again).

``nwait`` counts goroutines parked in IO wait: while it is not zero an idle
M blocks in the poller rather than reporting a deadlock (proc.checkdead),
and sysmon polls for them.
"""

from __future__ import annotations

import os
import select
from collections import deque
from time import monotonic_ns
from typing import TYPE_CHECKING, Any, Final

from .lock_futex import mutex

if TYPE_CHECKING:
    from .g import G
    from .timers import Timer

MAX_POLL_S: Final = 86_400.0
MAX_EVENTS: Final = 128  # Go's netpoll reads at most 128 events per call

_EPOLLIN: Final = select.EPOLLIN
_EPOLLOUT: Final = select.EPOLLOUT
_EPOLLET: Final = select.EPOLLET
_EPOLLRDHUP: Final = select.EPOLLRDHUP
_READ_EVENTS: Final = (select.EPOLLIN | select.EPOLLPRI | select.EPOLLRDHUP | select.EPOLLHUP
                       | select.EPOLLERR)
# After these a reader must try before it parks (PollDesc.hup); EPOLLPRI: TCP urgent
# data, where the kernel cuts a read short with more queued.
_HANGUPS: Final = select.EPOLLPRI | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR
_WRITE_EVENTS: Final = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR

SOCKET_EVENTS: Final = (_EPOLLIN | select.EPOLLPRI | _EPOLLOUT | _EPOLLRDHUP
                        | _EPOLLET)  # registered once per fd

READ: Final = 0
WRITE: Final = 1


class PollDesc:
    """One registered descriptor (Go: pollDesc). Touched by the M only."""

    __slots__ = ("closing", "dl", "fd", "forks", "g", "hup", "owner", "ready", "timer",
                 "waits")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.closing = False
        # The peer hung up (EPOLLRDHUP/HUP/ERR seen): no edge will come after the data
        # already queued, so a reader must try before parking (internal/poll.FD.recv).
        # Urgent data (EPOLLPRI) too: a read stops at its mark with more queued.
        self.hup = False
        self.g: list[G | None] = [None, None]
        self.ready = [False, False]
        self.dl = [0, 0]
        self.timer: list[Timer | None] = [None, None]
        # What a goroutine parked on each mode waits on (poll_runtime.IOWait), made once
        # by poll_open: no allocation per park.
        self.waits: tuple[Any, ...] = ()
        # Forks this descriptor went through into the process (fork.py): in a child, the
        # goroutines holding the FD's per-direction turns stayed behind (internal/poll.py).
        self.forks = 0
        # A weak reference to what owns the descriptor for this run only (gort.net's
        # sockets, internal/poll.FD): ``close`` calls its ``run_ended()``. None for a
        # descriptor that outlives runs (gort.socket's, gort.os's).
        self.owner: Any = None

    def __repr__(self) -> str:
        return f"<PollDesc fd={self.fd}{' closing' if self.closing else ''}>"


class Netpoll:
    """The epoll instance of one run, its wake-up eventfd and signal pipe."""

    __slots__ = ("closed", "efd", "ep", "lastpoll", "lock", "nwait", "pds", "pending", "rfd",
                 "wakeup_pending", "wfd")

    def __init__(self) -> None:
        self.ep = select.epoll()
        self.efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.ep.register(self.efd, _EPOLLIN)  # level-triggered, see the module essay
        self.rfd, self.wfd = os.pipe()  # CPython's signal wake-up fd (sigqueue.py)
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.ep.register(self.rfd, _EPOLLIN)
        self.lock = mutex()
        self.wakeup_pending = False  # lock
        # Set by close, under lock: a late brk (an offload finishing after the run
        # ended) must not write to a closed, perhaps reused, file descriptor.
        self.closed = False  # lock
        self.pds: dict[int, PollDesc] = {}  # fd -> its PollDesc; M only
        self.nwait = 0  # goroutines parked in IO wait; M only (sysmon reads it racily)
        # (PollDesc, events) found by sysmon's poll_foreign, for the M.
        self.pending: deque[tuple[PollDesc, int]] = deque()
        self.lastpoll = monotonic_ns()  # the M's last poll (sysmon reads it racily)

    # -- registration (Go: netpollopen, netpollclose) ------------------------------

    def open(self, fd: int) -> PollDesc:
        """Register fd for reading and writing, edge-triggered; return its PollDesc."""
        old = self.pds.pop(fd, None)
        if old is not None:
            # The kernel gave this number out again, so the socket registered under it
            # was closed without gort (a Conn dropped unclosed, its socket collected):
            # the kernel dropped that registration with the file. Nobody waits on it (a
            # waiter would have kept the Conn alive).
            old.closing = True
            try:
                self.ep.unregister(fd)
            except OSError:
                pass
        pd = PollDesc(fd)
        self.ep.register(fd, SOCKET_EVENTS)
        self.pds[fd] = pd
        return pd

    def close_pd(self, pd: PollDesc) -> None:
        """Unregister pd's fd (before the fd is closed: never an event for a reused fd)."""
        if self.pds.get(pd.fd) is pd:
            del self.pds[pd.fd]
            try:
                self.ep.unregister(pd.fd)
            except OSError:
                pass  # the program closed the fd behind our back; nothing is registered

    # -- wake-ups ------------------------------------------------------------------

    def brk(self) -> None:
        """Wake the M blocked in poll, from any thread (Go: netpollBreak)."""
        with self.lock:
            if self.wakeup_pending or self.closed:
                return
            self.wakeup_pending = True
            os.eventfd_write(self.efd, 1)

    def _drain(self, fd: int, blocking: bool) -> None:
        if fd == self.efd:
            if not blocking:
                return  # left for the blocking poll (see the module essay)
            with self.lock:
                self.wakeup_pending = False
                try:
                    os.eventfd_read(self.efd)
                except BlockingIOError:
                    pass
            return
        try:
            while os.read(self.rfd, 256):
                pass
        except BlockingIOError:
            pass

    # -- polling -------------------------------------------------------------------

    def poll(self, delay_s: float | None) -> list[G]:
        """The M's poll (Go: netpoll(delay)): wait up to ``delay_s`` seconds (None: forever,
        0: just look) for events; return the goroutines they unblock, not yet readied.
        """
        # epoll takes at most about 24.8 days (ms in an int); a timer further off is
        # simply waited for in several polls (Go's netpoll caps its delay alike).
        timeout = -1.0 if delay_s is None else min(max(delay_s, 0.0), MAX_POLL_S)
        events = self.ep.poll(timeout, MAX_EVENTS)
        self.lastpoll = monotonic_ns()
        glist: list[G] = []
        if self.pending:
            self.take_pending(glist)
        if not events:
            return glist
        pds = self.pds
        blocking = timeout != 0.0
        for fd, ev in events:
            pd = pds.get(fd)
            if pd is None:
                if fd == self.efd or fd == self.rfd:
                    self._drain(fd, blocking)
                continue
            if pd.closing:
                continue
            # netpollready and netpollunblock inlined: once per event, the busiest loop.
            if ev & _READ_EVENTS:
                if ev & _HANGUPS:
                    pd.hup = True
                pd.ready[READ] = True
                gp = pd.g[READ]
                if gp is not None:
                    pd.g[READ] = None
                    self.nwait -= 1
                    glist.append(gp)
            if ev & _WRITE_EVENTS:
                pd.ready[WRITE] = True
                gp = pd.g[WRITE]
                if gp is not None:
                    pd.g[WRITE] = None
                    self.nwait -= 1
                    glist.append(gp)
        return glist

    def poll_foreign(self) -> bool:
        """sysmon's look (another thread): queue events for the M; True if it found any."""
        events = self.ep.poll(0.0, MAX_EVENTS)
        found = False
        pds = self.pds
        for fd, ev in events:
            pd = pds.get(fd)  # racy, see the module essay
            if pd is not None:
                self.pending.append((pd, ev))
                found = True
        if found:
            self.brk()  # the M may have gone to sleep in poll meanwhile
        return found

    def take_pending(self, glist: list[G]) -> None:
        """The M takes the events sysmon found (Go: injectglist of sysmon's netpoll)."""
        # netpollready and netpollunblock inlined, as in poll: under load (the M busy
        # for more than NETPOLL_STALE_NS between its own polls) a quarter of the events
        # came this way (500 echo connections).
        pending = self.pending
        while pending:
            pd, ev = pending.popleft()
            if pd.closing:
                continue
            if ev & _READ_EVENTS:
                if ev & _HANGUPS:
                    pd.hup = True
                pd.ready[READ] = True
                gp = pd.g[READ]
                if gp is not None:
                    pd.g[READ] = None
                    self.nwait -= 1
                    glist.append(gp)
            if ev & _WRITE_EVENTS:
                pd.ready[WRITE] = True
                gp = pd.g[WRITE]
                if gp is not None:
                    pd.g[WRITE] = None
                    self.nwait -= 1
                    glist.append(gp)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.ep.close()
            os.close(self.efd)
            os.close(self.rfd)
            os.close(self.wfd)
        # Descriptors still open when the run ends are closed as far as gort is
        # concerned: their next use raises ErrClosed instead of waiting on a poller that
        # is gone. Those owned by the run (gort.net's sockets) are closed for real: no
        # later run can use them, and a goroutine abandoned in a read or an accept
        # (kept for the life of the process when it stopped inside a try or with block,
        # abandon.py) held its socket open, one descriptor per run for good.
        owners = []
        for pd in self.pds.values():
            pd.closing = True
            if pd.owner is not None:
                owners.append(pd.owner)
        self.pds.clear()
        self.pending.clear()
        for ref in owners:
            owner = ref()
            if owner is not None:
                owner.run_ended()


def netpollunblock(np: Netpoll, pd: PollDesc, mode: int, ioready: bool) -> G | None:
    """Take pd's waiter for mode off it and return it (Go: netpollunblock).

    ``ioready``: the descriptor is ready, which is remembered for the waiter
    (or the next one, if nobody waits); False (a deadline, a close) only wakes.
    """
    gp = pd.g[mode]
    if ioready:
        pd.ready[mode] = True
    if gp is None:
        return None
    pd.g[mode] = None
    np.nwait -= 1
    return gp
