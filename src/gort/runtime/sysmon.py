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

import sys
import threading
from time import monotonic_ns, thread_time_ns
from typing import Final

from .g import Gstatus
from .p import P, Pstatus
from .sched import Sched
from .schedtrace import schedtrace
from .signal_unix import Signals

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


class Sysmon:
    """The sysmon thread of one run."""

    def __init__(self, s: Sched, signals: Signals | None) -> None:
        self.s = s
        self.signals = signals  # None: asynchronous preemption is off
        self.stopping = False
        # sysmon sleeps in park.acquire(timeout): one semaphore wait, cheaper than
        # Event.wait, which builds a new Condition waiter on every call. stop() releases it.
        self.park = threading.Lock()
        self.park.acquire()
        self.thread = threading.Thread(target=self._main, name="gort-sysmon", daemon=True)
        self.old_switch = sys.getswitchinterval()
        self.failure: BaseException | None = None

    def start(self) -> None:
        sys.setswitchinterval(min(self.old_switch, SWITCH_INTERVAL_S))
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.park.release()
        self.s.sysmonnote.set()
        if self.thread.ident is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
        sys.setswitchinterval(self.old_switch)

    def _main(self) -> None:
        try:
            self._loop()
        except BaseException as e:  # a gort bug: surface it, never swallow it
            self.failure = e

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
                s.sysmonnote.wait((trace_next - now) / 1e9 if trace_every else None)
                cpu0 = thread_time_ns()
                with s.lock:
                    s.sysmonwait = False
                delay, idle = _DELAY_MIN_NS, 0
                continue
            # A slice this close to its end counts as over: sleeping the rest would cost a
            # second wait for the GIL, later than the end by up to a switch interval.
            acted, next_ns = self.retake(now, delay, min(early, s.debug.preempt_ns // 20))
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
        not answered is re-sent every ``max(delay, RESEND_MIN_NS)``.
        """
        s = self.s
        slice_ns = s.debug.preempt_ns
        if self.signals is None:
            resend = _DELAY_MAX_NS  # no signal to re-send: the mark stays, look rarely
        else:
            resend = max(delay, min(RESEND_MIN_NS, max(RESEND_FLOOR_NS, slice_ns)))
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
            deadline = pd.schedwhen + slice_ns - tolerance
            if now < deadline:
                look = deadline
            elif not self.runnable_elsewhere(pp, now):
                # Nothing else could use the P: a preemption would only cost a signal
                # and a GIL hand-off. Look again at the next timer or after one slice.
                when = pp.timers.heap[0][0] if pp.timers.heap else 0
                look = min(when, now + slice_ns) if when else now + slice_ns
            else:
                if pd.last_signal == 0:
                    acted = self.preemptone(pp) or acted
                    pd.last_signal = now
                elif now - pd.last_signal >= resend:
                    self.preemptone(pp)
                    pd.last_signal = now
                look = pd.last_signal + resend
            next_ns = look if next_ns == 0 else min(next_ns, look)
        return acted, next_ns

    def runnable_elsewhere(self, pp: P, now: int) -> bool:
        """Could another G use pp now? (racy reads, as all of sysmon's; best-effort)"""
        s = self.s
        if pp.runnext is not None or pp.runqhead != pp.runqtail or s.runq or s.injectq:
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
        if self.signals is not None and mp.armed is None:
            sent = self.signals.preempt_m(mp)
        if s.tracer is not None:
            s.tracer.preempt_request(gp, monotonic_ns(), sent)
        return True
