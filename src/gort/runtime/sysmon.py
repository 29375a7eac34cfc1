"""sysmon: the monitor thread (Go: proc.go sysmon, retake, preemptone).

sysmon runs on its own thread and holds no P. It watches each running P's
``schedtick``; a P whose tick has not moved for the time slice
(``Debug.preempt_ns``, Go's forcePreemptNS, 10 ms) is running one G too long,
and ``preemptone`` asks that G to stop: it sets ``gp.preempt`` (the
synchronous safe point) and, unless GODEBUG=asyncpreemptoff=1, sends SIGURG
(``signal_unix.preempt_m``).

When it wakes. Go's sysmon polls: 20 us, doubling after 1 ms without work,
up to 10 ms. sysmon here knows better than to poll while a G runs: the P
stamps ``schedwhen`` when a slice starts, so sysmon sleeps until that slice
would end, and wakes then only if the same slice is still running. Unlike
Go, it does not preempt a G when nothing else could use the P (no runnable
G, no due timer, no finished offload): that would cost a signal and a GIL
hand-off for nothing. It looks again at the next timer or after a slice. Go's
adaptive delay paces what cannot be predicted: re-sending a request that the
handler could not answer (the G was in a C call or a no-preempt module),
backing off to 10 ms, but never sooner than ``RESEND_MIN_NS``: under the GIL,
a sooner look only delays the answer. While every P is idle sysmon sleeps for
good (``sched.sysmonwait``); the M wakes it when work appears.

An M blocked in C is never interrupted (Go never signals a G in a syscall):
requests go through CPython's signal flag, not the kernel (signal_unix.py).
sysmon samples the M's thread CPU clock at every look: a clock that stood
still means the M is blocked in C. Two things follow. An M blocked at a
thread-lock acquire (``preempt.lock_wait_at``) while another G is runnable is
waiting for a lock created before the runtime started, probably held by a G
it preempted: it gets a real signal without SA_RESTART and the handler
switches the waiter out inside the acquire's retry loop (``blocked``). An M
blocked in one call for a whole slice (at least 20 ms) while others wait is
reported on stderr, once per call site, with both goroutines' stacks
(``blocked_report``, GODEBUG=blockreport=0 to silence).

The GIL. sysmon needs the GIL to act, and a spinning goroutine holds it: a
thread waiting for it gets it only after the interpreter's switch interval
(5 ms by default). While gort runs the switch interval is lowered to
``SWITCH_INTERVAL_S`` (restored at teardown), and sysmon wakes that much
before a slice ends so that it holds the GIL when the slice does. Only
threads that want the GIL at the same time pay for the shorter interval;
sysmon asleep wants nothing. Its GIL waits and its own CPU time are measured (``Stats.sysmon_*``).

sysmon only reads the running M's counters; its own copies live in
``pp.sysmontick`` (Go: "best-effort, so it's OK that it's racy"). An
exception in sysmon is a gort bug: it is recorded and re-raised by ``run``
(never swallowed).
"""

from __future__ import annotations

import os
import sys
import threading
import time as time_mod
from time import clock_gettime_ns, monotonic_ns, thread_time_ns
from types import CodeType, FrameType
from typing import Final

from .g import G, Gstatus
from .m import newosproc
from .p import P, Pstatus, SysmonTick
from .preempt import lock_wait_at, tracing_api
from .proc import PARK_DEPTH
from .sched import Sched
from .schedtrace import schedtrace
from .signal_unix import Signals
from .threadlock import _allocate_raw, _get_ident
from .traceback import created_by, goroutine_block, stack_lines, stack_lines_of, system_role

SWITCH_INTERVAL_S: Final = 0.0005
_DELAY_MIN_NS: Final = 20_000
_DELAY_MAX_NS: Final = 10_000_000
# Measured: re-checking 20 us after a send let sysmon take the GIL back before the M
# could answer the signal (handler latency p50 489 us, the switch interval). Waiting a
# few switch intervals first gives the M the GIL.
RESEND_MIN_NS: Final = 2_000_000
# With a time slice shorter than that (tests), wait about one slice, but not less than
# the time the OS takes to wake the M's thread for the GIL.
RESEND_FLOOR_NS: Final = 200_000
# A CPU sample of the M older than this says nothing about whether it is in a C call
# now: the next look decides.
CPU_FRESH_NS: Final = 3_000_000
# A call blocking the M for a whole slice, but never less than this, is reported: a
# thread the OS left unscheduled for a few ms (a loaded machine) reads as blocked too.
REPORT_MIN_NS: Final = 20_000_000
# sysmon polls the network when the M has not for this long, so that a goroutine
# computing without a pause, or a run queue that never runs dry, cannot keep ready
# sockets waiting: their goroutines are found, and the running G is preempted at the
# end of its slice for them. Go uses 10 ms, but Go's sysmon wakes every 20 us-10 ms;
# this one wakes about when a slice ends, a little early (the GIL), so with 10 ms the
# look at a slice's end often found the last poll 9.x ms old and skipped it, and the
# ready sockets waited a second slice. Measured (tests/testprog/net_compute.py, one
# handler spinning 2 s, 50 light connections, p99 of three runs each): 2 ms 30-34 ms,
# 10 ms 36-53 ms, 20 ms 45-46 ms.
NETPOLL_STALE_NS: Final = 2_000_000
# A goroutine waiting this long for a thread lock despite the recovery is reported.
LOCK_REPORT_NS: Final = 1_000_000_000
# A goroutine running this long past its slice while others wait is reported (unyielding).
UNYIELDING_NS: Final = 1_000_000_000


_tstate_get, _enter_tracing, _ = tracing_api()
_live: set[int] = set()  # idents of sysmon threads still running (live_threads)


def live_threads() -> int:
    """How many sysmon threads are running in this process (all runs together)."""
    return len(_live)


class Sysmon:
    """The sysmon thread of one run."""

    def __init__(self, s: Sched, signals: Signals | None) -> None:
        self.s = s
        self.signals = signals  # None: asynchronous preemption is off
        self.stopping = False
        # sysmon sleeps in park.acquire(timeout): one semaphore wait, cheaper than
        # Event.wait, which builds a new Condition waiter on every call. stop() releases it.
        self.park = _allocate_raw()
        self.park.acquire()
        self.ident: int | None = None  # sysmon's thread, once started
        self.done = _allocate_raw()  # held while the thread runs (stop() waits for it)
        self.old_switch = sys.getswitchinterval()
        self.failure: BaseException | None = None
        # The M's thread CPU clock (Linux and most Unixes); None: no blocked-in-C test.
        self.cpuclock: int | None = _cpu_clock(s.m0.tid)
        # Built on the M's thread (start_services): its /proc syscall file, if any.
        self.syscall_file = _syscall_file()
        self.reported: set[tuple[CodeType, int]] = set()  # call sites reported blocking
        self.reported_spins: set[CodeType] = set()  # functions reported unyielding
        # The lock wait seen last, (schedtick, code, instruction), and when it began.
        self.lock_wait: tuple[tuple[int, CodeType, int] | None, int] = (None, 0)

    def start(self) -> None:
        sys.setswitchinterval(min(self.old_switch, SWITCH_INTERVAL_S))
        self._spawn()

    def _spawn(self) -> None:
        # A bare _thread, not a threading.Thread: threading.settrace/setprofile hooks
        # run on every threading.Thread before its first line (Thread._bootstrap_inner),
        # and a hook that raised there killed sysmon before it started. Go's sysmon is
        # no user thread either; threading.enumerate() does not list it. Muted from its
        # first frame on (m.newosproc): a global sys.monitoring callback that raised at
        # the PY_START of _main killed it before _main could mute the thread.
        self.done.acquire()
        self.ident = newosproc(self._main)

    def forget_in_child(self) -> None:
        """After os.fork() from another thread than the M's: the run is torn down in the
        child, which has no sysmon thread: ``stop`` must not wait for it (it waited 5 s)."""
        _live.clear()
        self.ident = None

    def restart_in_child(self) -> None:
        """After os.fork() from the M's thread: the child has no sysmon thread; start one."""
        self.stopping = False
        self.failure = None
        _live.clear()  # the parent's sysmon thread does not exist here
        self.park = _allocate_raw()
        self.park.acquire()
        self.done = _allocate_raw()
        self._spawn()

    def stop(self) -> None:
        self.stopping = True
        self.park.release()
        self.s.sysmonnote.wakeup()
        if (self.ident is not None and self.ident != _get_ident()
                and self.done.acquire(timeout=5)):
            self.done.release()
        sys.setswitchinterval(self.old_switch)

    def running(self) -> bool:
        """Called from sysmon's own thread."""
        return self.ident == _get_ident()

    def _main(self) -> None:
        # No callback of the program runs on sysmon's thread: neither trace or profile
        # functions nor sys.monitoring tools, whose events are global on 3.12+ (one that
        # raised here killed sysmon). Entering "tracing" mutes them all for this thread;
        # only the event of this very frame's start came before. The GC's finalizers
        # still run here (their exceptions are unraisable, never sysmon's).
        _enter_tracing(_tstate_get())
        _live.add(_get_ident())
        try:
            self._loop()
        except BaseException as e:  # a gort bug: surface it, never swallow it
            self.failure = e
        finally:
            _live.discard(_get_ident())
            self.done.release()

    def _loop(self) -> None:
        s = self.s
        stats = s.stats
        delay = _DELAY_MIN_NS
        idle = 0
        # How early to wake before a look so as to hold the GIL by then: a moving
        # average of the measured waits, starting at the switch interval.
        early = int(sys.getswitchinterval() * 1e9)
        cpu0 = thread_time_ns()
        trace_every = s.debug.schedtrace * 1_000_000
        trace_next = s.start_ns if trace_every else 0
        while not self.stopping:
            now = monotonic_ns()
            if trace_every and now >= trace_next:
                sys.stderr.write(schedtrace(s, now, s.debug.scheddetail > 0))
                sys.stderr.flush()
                trace_next = now + trace_every
            with s.lock:
                allidle = s.npidle >= len(s.allp)
                if allidle:
                    s.sysmonwait = True
                    s.sysmonnote.clear()
            if allidle:
                # Every P idle: sleep for good, or (schedtrace on, as in Go) until the next line.
                stats.sysmon_cpu_ns += thread_time_ns() - cpu0
                s.sysmonnote.tsleep((trace_next - now) / 1e9 if trace_every else None)
                cpu0 = thread_time_ns()
                with s.lock:
                    s.sysmonwait = False
                delay, idle = _DELAY_MIN_NS, 0
                continue
            # A slice this close to its end counts as over: sleeping the rest would cost a
            # second wait for the GIL, later than the end by up to a switch interval.
            tolerance = min(early, s.debug.preempt_ns // 20)
            np = s.netpoll
            if np.nwait and now - np.lastpoll >= NETPOLL_STALE_NS - tolerance:
                # Goroutines wait on sockets and the M has not looked for a while (it
                # runs goroutines without running dry): look for it (Go: sysmon's
                # netpoll). What is found makes the running G preemptible (retake).
                np.poll_foreign()
                np.lastpoll = now
            acted, next_ns = self.retake(now, delay, tolerance)
            if acted:
                idle = 0
                delay = _DELAY_MIN_NS
            else:
                idle += 1
                if idle > 50:
                    delay = min(delay * 2, _DELAY_MAX_NS)
            if next_ns:
                # Wake `early` before the look so that sysmon holds the GIL by then; once
                # inside that window, sleep exactly the rest (never a busy loop).
                sleep_ns = next_ns - now
                if sleep_ns > early:
                    sleep_ns -= early
                sleep_ns = max(sleep_ns, _DELAY_MIN_NS)
            else:
                sleep_ns = delay
            if trace_every:
                sleep_ns = max(_DELAY_MIN_NS, min(sleep_ns, trace_next - now))
            intended = now + sleep_ns
            stats.sysmon_cpu_ns += thread_time_ns() - cpu0
            if self.park.acquire(timeout=sleep_ns / 1e9):
                break  # stop() released it
            cpu0 = thread_time_ns()
            # Past the intended wake-up, sysmon was waiting for the GIL (or the OS).
            waited = max(0, monotonic_ns() - intended)
            early += (min(waited, _DELAY_MAX_NS) - early) // 8
            stats.sysmon_gil_wait_max_ns = max(stats.sysmon_gil_wait_max_ns, waited)
            stats.sysmon_gil_wait_total_ns += waited
            stats.sysmon_wakeups += 1
            if s.tracer is not None:
                s.tracer.sysmon_tick(monotonic_ns(), acted)

    def retake(self, now: int, delay: int, tolerance: int) -> tuple[bool, int]:
        """Preempt Gs past their slice (Go: retake). Returns (new request made, when to look next).

        A slice with less than ``tolerance`` ns left counts as over. A request the G has
        not answered is re-sent every ``max(delay, RESEND_MIN_NS)``. An M whose thread
        CPU clock stood still since the last look is blocked in C (see ``blocked``).
        """
        s = self.s
        slice_ns = s.debug.preempt_ns
        if self.signals is None:
            resend = _DELAY_MAX_NS  # no signal to re-send: the mark stays, look rarely
        else:
            resend = max(delay, min(RESEND_MIN_NS, max(RESEND_FLOOR_NS, slice_ns)))
            if self.signals.lock_wait and not s.m0.signal_pending:
                self.signals.restore_restart()  # the handler has run
        acted = False
        next_ns = 0
        for pp in list(s.allp):
            if pp.status != Pstatus.RUNNING:
                continue
            pd = pp.sysmontick
            t = pp.schedtick
            if pd.schedtick != t:
                pd.schedtick = t
                pd.schedwhen = pp.schedwhen
                pd.last_signal = 0
                pd.busy_since = 0
            running = self.sample_cpu(pd, now)
            if s.m0.curg is None:
                pd.busy_since = 0
            elif not pd.busy_since:
                pd.busy_since = now
                pd.busy_cpu = pd.cpu_ns if self.cpuclock is not None else -1
            deadline = pd.schedwhen + slice_ns - tolerance
            if now < deadline:
                look = deadline
            elif not self.runnable_elsewhere(pp, now) and (
                    (gp := s.m0.curg) is None or gp.pending is None):
                # Nothing else could use the P: a preemption would only cost a signal
                # and a GIL hand-off. Look again at the next timer or after one slice.
                # (Unless an exception waits for the running G at its next safe point,
                # a signal handler's that ran on another goroutine's stack: a G that
                # computes alone would never reach one without this request.)
                when = pp.timers.heap[0][0] if pp.timers.heap else 0
                look = min(when, now + slice_ns) if when else now + slice_ns
            else:
                # The slice's CPU time, where the thread has a clock: wall time counted
                # the time a loaded machine did not schedule the thread (adversarial F5:
                # 15 of 20 false reports at load 15-20, 2.2 s elapsed, 0.25 s of CPU).
                ran = pd.cpu_ns - pd.busy_cpu if pd.busy_cpu >= 0 else now - pd.busy_since
                if pd.busy_since and ran >= UNYIELDING_NS and \
                        running is not False and now - pd.last_run < REPORT_MIN_NS:
                    # (running is None after a look too long ago to say; a thread that
                    # used no CPU for REPORT_MIN_NS is blocked in C, not running: the
                    # blocked report's case. It said "has run for 1.0s without stopping"
                    # of a goroutine blocked in a lock's acquire.)
                    self.unyielding(pd, ran)
                if running is False:
                    # The M's thread used no CPU since the last look: blocked in C. The
                    # request below interrupts nothing (signal_unix.preempt_m); a lock
                    # wait is recovered and a long block reported here.
                    s.stats.blocked_looks += 1
                    self.blocked(pd, now, resend)
                # (A request whose answer found nothing to hook where the G leaves within
                # an event is re-sent after RESEND_FLOOR_NS: Preempter.retry_soon.)
                pre = s.preempter
                again = RESEND_FLOOR_NS if pre is not None and pre.retry_soon else resend
                if pd.last_signal == 0:
                    acted = self.preemptone(pp) or acted
                    pd.last_signal = now
                elif now - pd.last_signal >= again:
                    self.preemptone(pp)
                    pd.last_signal = now
                look = pd.last_signal + again
            next_ns = look if next_ns == 0 else min(next_ns, look)
        return acted, next_ns

    def sample_cpu(self, pd: SysmonTick, now: int) -> bool | None:
        """Did the M's thread run since the last look? None: no recent look (True: no clock).

        A thread blocked in a system call or a C wait uses no CPU; one running Python
        code does, between sysmon's looks (sysmon sleeps then, so it has the GIL).
        """
        if self.cpuclock is None:
            return True
        try:
            cpu = clock_gettime_ns(self.cpuclock)
        except OSError:  # the thread is gone (the run is ending)
            return True
        fresh = pd.cpu_when != 0 and now - pd.cpu_when <= CPU_FRESH_NS
        advanced = cpu != pd.cpu_ns
        if advanced or pd.cpu_when == 0:
            pd.last_run = now
        pd.cpu_ns = cpu
        pd.cpu_when = now
        return advanced if fresh else None

    def in_syscall(self) -> bool:
        """Is the M's thread in a system call now? (Linux /proc; True where unknown.)

        Confirms a still CPU clock before a report: a thread the OS has not
        scheduled for a while (a loaded machine) has one too, but is "running".
        So is one woken in a system call that has not yet had a CPU to return on
        (its GIL wait ended when sysmon slept, on a loaded machine): the kernel
        still shows the call in ``syscall``, but the thread is runnable (state R
        in ``stat``), not blocked; a false "blocked in a call" report came from it.
        """
        path = self.syscall_file
        if path is None:
            return True
        try:
            with open(path) as f:
                head = f.read(16).split(" ", 1)[0]
            if not head.isdigit():
                return False
            with open(path[:-len("syscall")] + "stat") as f:
                state = f.read(512).rpartition(")")[2].split(None, 1)[0]
        except (OSError, IndexError):
            return True
        return state != "R"

    def in_futex(self) -> bool:
        """Is the M's thread in a futex wait now (a thread lock, condition or semaphore
        wait in C)? Linux /proc, x86-64 and arm64; False where unknown."""
        path = self.syscall_file
        if path is None or _FUTEX_NR is None:
            return False
        try:
            with open(path) as f:
                head = f.read(16).split(" ", 1)[0]
        except OSError:
            return False
        return head == _FUTEX_NR

    def blocked(self, pd: SysmonTick, now: int, resend: int) -> None:
        """The M is blocked in a C call while another G could run.

        A wait for a thread lock is the one call gort interrupts: a lock created
        before the runtime started is not goroutine-aware, so the G holding it may
        be preempted on this very M, and the M would wait for it forever. The
        signal goes without SA_RESTART; the handler runs inside the acquire's
        PEP 475 retry loop (which holds nothing between tries) and switches the
        waiter out there, so the holder runs and releases (preempt.py). Any other
        call blocked for a whole slice is reported once per call site.
        """
        s = self.s
        mp = s.m0
        frame = sys._current_frames().get(mp.tid)
        if frame is None:
            return
        blocked_ns = now - pd.last_run
        if lock_wait_at(frame):
            if self.signals is not None and now - pd.last_signal >= resend:
                if self.signals.preempt_m(mp, lock_wait=True):
                    s.stats.signals_lock_wait += 1
                pd.last_signal = now
            # The wait's length, from the first look that found it (same turn, same
            # place): the handler each signal runs moves the CPU clock, so blocked_ns
            # restarts at every signal, and a waiter the handler cannot switch out (C
            # between its frames) was never reported (a silent hang).
            key = (pd.schedtick, frame.f_code, frame.f_lasti)
            if self.lock_wait[0] != key:
                self.lock_wait = (key, now - blocked_ns)
            if now - self.lock_wait[1] < LOCK_REPORT_NS:
                return
            blocked_ns = now - self.lock_wait[1]
        elif blocked_ns < max(s.debug.preempt_ns, REPORT_MIN_NS) or not self.in_syscall():
            return
        site = (frame.f_code, frame.f_lasti)
        if not s.debug.blockreport or site in self.reported:
            return
        self.reported.add(site)
        s.stats.blocked_reports += 1
        lock = LOCK_WAIT if lock_wait_at(frame) else FUTEX_WAIT if self.in_futex() else ""
        sys.stderr.write(blocked_report(s, frame, blocked_ns, lock))
        sys.stderr.flush()

    def unyielding(self, pd: SysmonTick, ran_ns: int) -> None:
        """The M's goroutine has run for UNYIELDING_NS (``ran_ns``: its thread's CPU time
        since the slice began, where the thread has a CPU clock) while others wait,
        preemption refused or deferred all along: report it once per place (silent hangs
        were the worst way such a program ended: a plain RLock held across a park, a
        long C callback, a tracer)."""
        s = self.s
        if not s.debug.blockreport or pd.reported_since == pd.busy_since:
            return
        frame = sys._current_frames().get(s.m0.tid)
        if frame is None or lock_wait_at(frame):
            return  # (a lock wait has its own report: blocked)
        # Once per slice, and once per function: a loop's instruction changes between two
        # looks (two reports of one spin, adversarial F3), a callback's slices repeat.
        pd.reported_since = pd.busy_since
        if frame.f_code in self.reported_spins:
            return
        self.reported_spins.add(frame.f_code)
        s.stats.blocked_reports += 1
        sys.stderr.write(unyielding_report(s, frame, ran_ns))
        sys.stderr.flush()

    def runnable_elsewhere(self, pp: P, now: int) -> bool:
        """Could another G use pp now? (racy reads, as all of sysmon's; best-effort)"""
        s = self.s
        if pp.runnext is not None or pp.runqhead != pp.runqtail or s.runq or s.injectq \
                or s.sigq or s.netpoll.pending:  # signals, sockets wait for the M's next round
            return True
        fq = s.finq
        if fq is not None and fq.due():  # a collection is due: the finalizer G (mfinal.py)
            return True
        heap = pp.timers.heap
        if heap and heap[0][0] <= now:
            return True
        return any(p2 is not pp and (p2.runnext is not None or p2.runqhead != p2.runqtail)
                   for p2 in s.allp)

    def preemptone(self, pp: object) -> bool:
        """Ask the G running on pp to stop (Go: preemptone). Best-effort."""
        s = self.s
        mp = s.m0
        gp = mp.curg
        if gp is None or mp.p is not pp or gp.status is not Gstatus.RUNNING or gp.system:
            return False
        if not gp.preempt:
            gp.preempt = True
            s.stats.preempt_requests += 1
        sent = False
        if self.signals is not None and s.depth_left.value >= PARK_DEPTH:
            # Also while a hook is armed: if its frame returned without another
            # instruction the handler finds it gone and looks again (preempt.py).
            sent = self.signals.preempt_m(mp)
        if s.tracer is not None:
            s.tracer.preempt_request(gp, monotonic_ns(), sent)
        return True


def _cpu_clock(tid: int) -> int | None:
    getclock = getattr(time_mod, "pthread_getcpuclockid", None)
    if getclock is None:
        return None
    try:
        clock: int = getclock(tid)
        clock_gettime_ns(clock)
    except OSError:
        return None
    return clock


# The futex system call's number as /proc/<tid>/syscall prints it (x86-64, arm64).
# (os.uname, not platform.machine: importing platform during gort's import makes a
# cached_property, whose 3.11 RLock, made before threadlock's patch, then sent every
# park down the pure path: 2.5x the instructions per ping-pong.)
_FUTEX_NR: Final = {"x86_64": "202", "aarch64": "98"}.get(os.uname().machine)


def _syscall_file() -> str | None:
    """The calling thread's /proc syscall file (Linux), or None."""
    path = f"/proc/self/task/{threading.get_native_id()}/syscall"
    try:
        with open(path) as f:
            f.read(16)
    except OSError:
        return None
    return path


def _first_runnable(s: Sched) -> tuple[G | None, int]:
    """A runnable G to show (the one preempted, usually) and how many are runnable."""
    gs: list[G] = []
    for pp in s.allp:
        if pp.runnext is not None:
            gs.append(pp.runnext)
        gs.extend(g for i in range(pp.runqhead, pp.runqtail)
                  if (g := pp.runq[i % len(pp.runq)]) is not None)
    gs.extend(s.runq)
    return (gs[0] if gs else None), len(gs)


def unyielding_report(s: Sched, frame: FrameType, ran_ns: int) -> str:
    """Report of the M's goroutine running on while preemption waits and others wait."""
    _, nrunnable = _first_runnable(s)
    reasons = ", ".join(f"{k!r} {v}" for k, v in sorted(
        s.stats.preempt_deferred.items(), key=lambda kv: -kv[1])[:3]) or "none counted"
    others = (f"{nrunnable} goroutine{'' if nrunnable == 1 else 's'} could run" if nrunnable
              else "timers or wake-ups wait for it")
    gp = s.m0.curg
    if gp is not None and gp.system:
        # Not preempted (preemptone): the program's code it runs is a finalizer or a
        # call made from another thread, which the runtime runs to the end.
        return _report(
            s, frame, "running",
            f"has run for {ran_ns / 1e9:.1f}s without stopping while {others}; gort never "
            "preempts its own goroutines.",
            "A finalizer (__del__, a weakref callback) or a call made from another thread "
            "runs to its end in gort's goroutine, holding up every goroutine of the M: keep "
            "it short, and hand long work to a goroutine (gort.go) or a thread. This report "
            "is printed once per place; GODEBUG=blockreport=0 turns it off.")
    return _report(
        s, frame, "running",
        f"has run for {ran_ns / 1e9:.1f}s without stopping while {others}; preemption has "
        f"been waiting for a safe point (deferrals: {reasons}).",
        "What keeps a goroutine from being switched out: a plain Lock or RLock (or a "
        "Condition) made before gort was imported, held in a with block (make locks after "
        "import gort, which gort run does first, or use gort.sync), a C "
        "function calling back into Python (sorted's key, re.sub, a C extension), a profile "
        "or trace function, or a module on the no-preempt list (GORT_NOPREEMPT). This report "
        "is printed once per place; GODEBUG=blockreport=0 turns it off.")


LOCK_WAIT: Final = "lock"
"""blocked_report's ``lock``: the call is a thread lock's acquire (preempt.lock_wait_at)."""
FUTEX_WAIT: Final = "futex"
"""blocked_report's ``lock``: a call sysmon cannot name waits on a futex (sysmon.in_futex)."""

# Stopped goroutines shown as the possible holders of a lock the M waits for.
_HOLDERS_SHOWN: Final = 4


def blocked_report(s: Sched, frame: FrameType, blocked_ns: int, lock: str = "") -> str:
    """Go-style report of the M's goroutine blocked in a call while others wait.

    ``lock`` (LOCK_WAIT, FUTEX_WAIT) says the call waits for a thread lock, or looks like
    it: then the report shows the goroutines that stopped part-way (preempted first, then
    parked), one of which holds it, instead of the first runnable one."""
    now = monotonic_ns()
    _, nrunnable = _first_runnable(s)
    # Timers due (a sleeper to wake, a ticker to send): the heaps are read racily, as
    # everything sysmon reads; entries of stopped timers are not counted.
    ndue = sum(1 for pp in s.allp for when, seq, tm in list(pp.timers.heap)
               if when <= now and tm.active and tm.seq == seq)
    timers = (f" and {ndue} timer{' was' if ndue == 1 else 's were'} due" if ndue else "")
    others = (f"{nrunnable} goroutine{'' if nrunnable == 1 else 's'} could run{timers}; all "
              "of them wait for it" if nrunnable else
              f"{ndue or 'no'} timer{'' if ndue == 1 else 's'} or wake-ups wait for it")
    if lock == LOCK_WAIT:
        return _report(
            s, frame, "running, in a call",
            f"has waited {blocked_ns / 1e9:.1f}s for a thread lock while {others}, since "
            "one thread runs every goroutine. A plain lock (made before gort was "
            "imported) may be held by a goroutine this thread stopped, which cannot run "
            "to release it (the stopped goroutines are below); gort switches such a "
            "waiter out inside its wait, but not here (C code sits between its frames, a "
            "sorted key or a C callback, or it runs inside a profile, trace or monitoring "
            "callback).",
            "Make the lock after import gort (gort run imports gort before the program) or "
            "use gort.sync.Mutex; do not wait for a lock inside a callback that C code "
            "calls. This report is printed once per call site; GODEBUG=blockreport=0 "
            "turns it off.", holders=True)
    if lock == FUTEX_WAIT:
        return _report(
            s, frame, "running, in a call",
            f"has been blocked for {blocked_ns / 1e6:.1f}ms in a call that waits on a "
            f"futex (a thread lock, condition or semaphore) while {others}, since one "
            "thread runs every goroutine. If it waits for a Lock made before gort was "
            "imported, acquired by C code on the program's behalf "
            "(operator.methodcaller('acquire'), map() over locks, lock.acquire.__call__, "
            "a sorted key), gort cannot see the wait and cannot switch the waiter out: "
            "the goroutine holding the lock is one of those stopped below, and it can "
            "never run to release it (the program hangs).",
            "Make such locks after import gort (gort run imports gort before the "
            "program: then every lock is goroutine-aware) or use gort.sync.Mutex; call "
            "lock.acquire() from Python code. Other blocking calls: gort.offload(fn, "
            "*args). This report is printed once per call site; GODEBUG=blockreport=0 "
            "turns it off.", holders=True)
    return _report(
        s, frame, "running, in a call",
        f"has been blocked in a call for {blocked_ns / 1e6:.1f}ms while {others}, since one "
        "thread runs every goroutine.",
        "Run blocking calls with gort.offload(fn, *args) (a worker thread runs fn, only the "
        "caller waits), and use gort.sleep instead of time.sleep. C code that blocks "
        "holding a lock of its own cannot be preempted safely at all. This report is "
        "printed once per call site; GODEBUG=blockreport=0 turns it off.")


def _stopped_midway(s: Sched, now: int) -> list[str]:
    """The goroutines that ran and stopped part-way, as dump blocks: the preempted
    (runnable) ones first, then the parked ones; never-started ones and gort's own left
    out. One of them holds the lock a blocked M waits for (blocked_report)."""
    cur = s.m0.curg
    gs = sorted((gp for gp in list(s.allgs)
                 if gp is not cur and not gp.system
                 and gp.status in (Gstatus.RUNNABLE, Gstatus.WAITING)),
                key=lambda gp: (gp.status is not Gstatus.RUNNABLE, gp.goid))
    blocks: list[str] = []
    more = 0
    for gp in gs:
        if not stack_lines_of(gp):
            continue  # never ran (or reused and not yet started): holds nothing
        if len(blocks) < _HOLDERS_SHOWN:
            blocks.append(goroutine_block(gp, now))
        else:
            more += 1
    if more:
        blocks.append(f"... and {more} more stopped goroutine{'' if more == 1 else 's'} "
                      "(SIGQUIT prints every goroutine)")
    return blocks


def _report(s: Sched, frame: FrameType, state: str, what: str, advice: str,
            holders: bool = False) -> str:
    """sysmon's reports: the headline, the M's goroutine (at frame), then the first
    runnable one, or (``holders``) the goroutines stopped part-way (_stopped_midway)."""
    now = monotonic_ns()
    gp = s.m0.curg
    goid = gp.goid if gp is not None else 0
    role = system_role(gp) if gp is not None else ""
    named = f"{goid} ({role})" if role else f"{goid}"
    parts = [f"gort: goroutine {named} {what}\n", f"goroutine {goid} [{state}]:",
             *stack_lines(frame)]
    if gp is not None and gp.gopc is not None:
        parts.append(created_by(gp))
    parts.append("")
    if holders:
        for block in _stopped_midway(s, now):
            parts.append(block)
            parts.append("")
    else:
        waiting, _ = _first_runnable(s)
        if waiting is not None:
            parts.append(goroutine_block(waiting, now))
            parts.append("")
    parts.append(advice + "\n\n")
    return "\n".join(parts)
