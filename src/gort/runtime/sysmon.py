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
would end, and wakes then only if the same slice is still running. Go's
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
sysmon asleep wants nothing. Its GIL waits are measured (``gil_wait_max_ns``).

sysmon only reads the running M's counters; its own copies live in
``pp.sysmontick`` (Go: "best-effort, so it's OK that it's racy"). An
exception in sysmon is a gort bug: it is recorded and re-raised by ``run``
(never swallowed).
"""

from __future__ import annotations

import sys
import threading
from time import monotonic_ns
from typing import Final

from .g import Gstatus
from .p import Pstatus
from .sched import Sched
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
        self.stopev = threading.Event()
        self.thread = threading.Thread(target=self._main, name="gort-sysmon", daemon=True)
        self.old_switch = sys.getswitchinterval()
        self.failure: BaseException | None = None
        self.gil_wait_max_ns = 0
        self.gil_wait_total_ns = 0

    def start(self) -> None:
        sys.setswitchinterval(min(self.old_switch, SWITCH_INTERVAL_S))
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.stopev.set()
        self.s.sysmonnote.set()
        if self.thread.ident is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
        sys.setswitchinterval(self.old_switch)

    def _main(self) -> None:
        try:
            self._loop()
        except BaseException as e:  # a gort bug: surface it, never swallow it
            self.failure = e
            self.s.stats.sysmon_wakeups = -1

    def _loop(self) -> None:
        s = self.s
        delay = _DELAY_MIN_NS
        idle = 0
        early = int(sys.getswitchinterval() * 1e9)
        while not self.stopping:
            with s.lock:
                allidle = s.npidle >= len(s.allp)
                if allidle:
                    s.sysmonwait = True
                    s.sysmonnote.clear()
            if allidle:
                s.sysmonnote.wait()
                delay, idle = _DELAY_MIN_NS, 0
                continue
            now = monotonic_ns()
            acted, next_ns = self.retake(now, delay)
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
            intended = now + sleep_ns
            self.stopev.wait(sleep_ns / 1e9)
            waited = monotonic_ns() - intended
            if waited > self.gil_wait_max_ns:
                self.gil_wait_max_ns = waited
            self.gil_wait_total_ns += max(0, waited)
            s.stats.sysmon_wakeups += 1

    def retake(self, now: int, delay: int) -> tuple[bool, int]:
        """Preempt Gs past their slice (Go: retake). Returns (new request made, when to look next).

        A request the G has not answered is re-sent every ``max(delay, RESEND_MIN_NS)``.
        """
        s = self.s
        slice_ns = s.debug.preempt_ns
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
            deadline = pd.schedwhen + slice_ns
            if now < deadline:
                look = deadline
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

    def preemptone(self, pp: object) -> bool:
        """Ask the G running on pp to stop (Go: preemptone). Best-effort."""
        s = self.s
        mp = s.m0
        gp = mp.curg
        if gp is None or mp.p is not pp or gp.status is not Gstatus.RUNNING:
            return False
        if not gp.preempt:
            gp.preempt = True
            s.stats.preempt_requests += 1
        if self.signals is None or mp.armed is not None:
            return True
        self.signals.preempt_m(mp)
        return True
