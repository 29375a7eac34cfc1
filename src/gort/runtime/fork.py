"""The runtime across os.fork() (Go: proc.go beforefork, afterfork, AfterForkInChild).

``os.fork()`` copies the process's memory and only the thread that called
it. Registered once with ``os.register_at_fork``:

- ``before_fork`` takes the locks other threads (sysmon, offload workers)
  take: the Sched's, the offloader's and the netpoller's, so the child
  never inherits one held by a thread it does not have.
- ``after_fork_in_parent`` releases them; nothing else changes.
- ``after_fork_in_child`` releases them and rebuilds what belonged to
  threads or was shared with the parent: a new netpoller (the wake-up pipe
  and the epoll instance are shared by fork: a byte one process writes would
  wake the other), a new sysmon thread, no offload worker (they will be
  started on demand), no SIGURG in flight (pending signals are not
  inherited: ``mp.signal_pending`` would otherwise stop sysmon from ever
  sending another), no execution trace (its file is the parent's; the
  child may start its own).

Which goroutines the child has: only the one that called os.fork(), as a
forked thread program keeps only the forking thread; and the main goroutine
too when the fork came from a signal handler run by gort's handler goroutine
(main parked or in gort's code when the signal came): handlers belong to the
main thread in CPython, so the child goes on in main once the handler
returns, as a forking handler's child does in a plain program (main stays
abandoned if it waits for an offloaded call, whose worker is not there). Every other goroutine
exists in the child's memory but is abandoned there, as at exit: taken off
every wait (the interrupt protocol's ``waiting.cancel``: no sudog, timer or
semaphore entry left for the child to ready), off the run queues, never
resumed, handed to abandon.bury. Letting them all run on, as the copied
greenlets could, was rejected: every child would repeat the parent's side
effects (two accept loops on one socket, two tickers writing one file), a
multiprocessing worker would compete with copies of the parent's busy
goroutines, and a goroutine waiting for an offloaded call would wait
forever for a worker thread the child does not have. The forking goroutine
becomes the child's main goroutine, keeping its own identity (lock owner,
threading.local: ``Sched.thread_g`` is not moved), as a forked thread keeps its
ident: when it returns, the child's run ends
as a run ends when main returns (gort.run returns its value; the implicit
runtime exits the process with status 0). Timers stay (they belong to no
goroutine); an ``after_func`` timer firing in the child starts its
goroutine there.

A fork from a thread that runs no goroutines (an offload worker, a thread of
the program's): the child has no M, so the runtime is cleanly absent there:
torn down without a switch (services stopped, goroutines buried, the
netpoller's descriptors closed, gort's signal handlers restored), and a gort
call in the child starts a new runtime as in a fresh process.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from . import abandon, proc
from . import sched as _sched
from .g import CANCELLED, Gstatus
from .lock_futex import Note
from .netpoll import SOCKET_EVENTS as _SOCKET_EVENTS
from .netpoll import Netpoll
from .p import RUNQ_SIZE
from .sched import Sched
from .sigqueue import _real_set_wakeup_fd

_held: list[Any] = []
_forking_tid = 0


def before_fork() -> None:
    """Take the runtime's locks so the child inherits none of them held (Go: beforefork)."""
    global _forking_tid
    s = _sched.current
    if s is None:
        return
    locks: list[Any] = [s.lock]
    off = s.offloader
    if off is not None:
        locks.append(off.lock)
    locks.append(s.netpoll.lock)
    for lk in locks:
        lk.acquire()
    _held[:] = locks
    _forking_tid = threading.get_ident()


def _release_held() -> None:
    held = _held[:]
    _held.clear()
    for lk in reversed(held):
        lk.release()


def after_fork_in_parent() -> None:
    """Release what before_fork took (Go: afterfork)."""
    _release_held()


def after_fork_in_child() -> None:
    """Rebuild the runtime in the child, or take it down if its M is not here."""
    s = _sched.current
    if s is None:
        _held.clear()
        return
    _release_held()
    s.tracer = None  # the trace file is the parent's: the child writes nothing there
    s.sysmonnote = Note()  # its lock may have been held by sysmon
    s.sysmonwait = False
    if _forking_tid != s.m0.tid:
        if s.sysmon is not None:
            s.sysmon.forget_in_child()
        proc.teardown(s)
        return
    _keep_only_forking_goroutine(s)
    old = s.netpoll
    s.netpoll = Netpoll()
    # The child's sockets (copies of the parent's descriptors) go to its own epoll: an
    # epoll instance is shared by fork, so the parent's poll would eat the child's
    # events. Registering again reports what is ready now (edge-triggered: one edge).
    # No goroutine waits on them any more (abandoned above), so no waiter moves over.
    for fd, pd in old.pds.items():
        pd.forks += 1  # the FD's turns, held by goroutines left behind, are free here
        s.netpoll.pds[fd] = pd
        s.netpoll.ep.register(fd, _SOCKET_EVENTS)
    old.pds.clear()
    old.close()
    off = s.offloader
    if off is not None:
        off.idle = []
        off.nthreads = 0
    sigs = s.sigqueue
    if sigs is not None and sigs.installed:
        # CPython's wake-up fd was the old pipe's (sigqueue holds it for the run).
        _real_set_wakeup_fd(s.netpoll.wfd, warn_on_full_buffer=False)
    mp = s.m0
    mp.signal_pending = False
    if s.sysmon is not None:
        # With no goroutine current, the thread locks Thread.start takes are plain ones
        # (threadlock.py): the forking goroutine must not park inside os.fork().
        gp, mp.curg = mp.curg, None
        try:
            s.sysmon.restart_in_child()
        finally:
            mp.curg = gp


def _keep_only_forking_goroutine(s: Sched) -> None:
    mp = s.m0
    gp = mp.curg
    # A fork from a signal handler, run by the handler goroutine (main was parked or in
    # gort's code) or on the stack of the goroutine the signal landed in, is the main
    # thread's, as CPython's handlers are: main stays too and goes on once the handler
    # returns. Not when it waits for an offloaded call: the worker thread is not in the
    # child.
    main = s.main_g
    sigs = s.sigqueue
    keep_main = (gp is not None and sigs is not None
                 and (gp is sigs.runner or gp is sigs.running_on)
                 and main is not None and main.status is not Gstatus.SYSCALL)
    abandoned = []
    for g in list(s.allgs):
        if g is gp or g.status is Gstatus.DEAD or g.status is Gstatus.IDLE:
            continue  # the forking goroutine, and finished ones on the free lists
        if keep_main and g is main:
            continue
        if g.status is Gstatus.WAITING or g.status is Gstatus.SYSCALL:
            w = g.waiting
            g.waiting = CANCELLED
            if w is not None and w is not CANCELLED:
                w.cancel(g)
        g.status = Gstatus.DEAD
        g.is_main = False
        del s.allgs[g]
        abandoned.append(g)
    s.gcount -= sum(1 for g in abandoned if not g.system)  # system ones are not counted
    # The runtime's own goroutines among them are made again on demand in the child.
    fin = s.finq
    if fin is not None and fin.g is not None and fin.g is not gp and fin.g in abandoned:
        fin.g = None
        fin.parked = False
    if sigs is not None and sigs.runner is not gp and sigs.runner in abandoned:
        sigs.runner = None
        sigs.runner_live = False
    for pp in s.allp:
        pp.runq = [None] * RUNQ_SIZE
        pp.runqhead = pp.runqtail = 0
        pp.runnext = None
    s.runq.clear()
    s.injectq.clear()
    s.noffload = 0
    if keep_main:
        assert main is not None
        if main.status is Gstatus.RUNNABLE:  # it was on a run queue, now emptied
            proc.runqput(s, mp.p, main, False)  # type: ignore[arg-type]
    elif gp is not None:
        gp.is_main = True
        s.main_g = gp
    abandon.bury(abandoned, None, (), mp.tid)


_installed = False


def install() -> None:
    """Register the fork handlers (once per process; os.register_at_fork has no undo)."""
    global _installed
    if not _installed:
        os.register_at_fork(before=before_fork, after_in_parent=after_fork_in_parent,
                            after_in_child=after_fork_in_child)
        _installed = True
