"""The program's signals: where their handlers run, and os/signal's channels (Go: sigqueue.go).

CPython runs a Python signal handler on the main thread at its next
"eval-breaker" check: between two bytecodes of whatever runs there, or
inside a blocking C call that retries after EINTR (PEP 475: a lock wait,
``time.sleep``, the netpoller's ``select``). On gort's thread that can be
the middle of the scheduler, of a channel operation or of the idle wait;
a handler that ran there and called gort (or raised) saw the runtime
half-updated. So, while a runtime runs, gort owns the Python-level handler
of every signal that has one (``SigQueue``), as Go's runtime owns every
signal and hands them to os/signal:

- At start, every signal whose handler is a Python callable (SIGINT's
  ``default_int_handler`` included) gets gort's ``sighandler`` instead, and
  the program's handler is kept in ``prog``. ``signal.signal``,
  ``signal.getsignal`` and ``signal.set_wakeup_fd`` are patched for the run:
  a later install is recorded and wrapped, ``getsignal`` returns what the
  program installed, ``set_wakeup_fd`` returns the program's previous fd. At
  teardown every signal gets the program's last handler back, and the three
  functions their originals. SIGURG's forward target goes to signal_unix
  (gort's preemption handler stays installed); SIGQUIT stays gort's dump
  while the program leaves it alone.
- ``sighandler`` does no allocation-heavy work: it forwards the program's
  wake-up byte, appends ``(signum, frame)`` to ``Sched.sigq``, and then
  either runs the queue at once or leaves it for later. At once when the
  interrupted frame is user code of the main goroutine: no frame from it
  down to the goroutine's entry is gort's own or a no-preempt module's
  (``Preempter.runtime_frame``: threading, queue, logging hold their locks across
  Python code),
  the M holds no lock (``m.locks``) and is not idle (``m.curg``), and the frame
  is not stopped at the call of a channel operation (or gort.go) that has just
  returned (``chan.returned_at``: CPython checks for signals after a call returns,
  before its result is stored, and a handler raising there dropped a received
  value or made a send look undone; the next operation's entry, a safe point,
  raises it before taking anything). Then the
  runtime is between two operations, consistent, as it is when the program
  calls gort. Otherwise the G is marked ``preempt`` (its next gort call is a
  safe point) and the M runs the queue at its next scheduling round:
  ``proc.find_runnable`` and ``proc.gopreempt_m`` call ``Sched.sigstart``,
  which starts the short-lived handler goroutine ``run_queued``;
  ``find_runnable`` runs it before the goroutines that its round's timers
  ready, as CPython runs a handler before the code after the check that
  noticed the signal (Go's os/signal delivers from a goroutine too). An idle M is woken by
  the C handler itself: gort holds CPython's wake-up fd (the netpoller's
  self-pipe), so the byte CPython writes for every caught signal ends the
  ``select``, whichever thread the kernel delivered the signal to. sysmon
  counts a non-empty queue as work waiting, so a goroutine that spins in
  user code is preempted and the queue runs within a time slice.
- Handlers run at once run with ``m.locks`` raised: a gort call in them
  never switches the goroutine out, and a blocking one raises a clear error
  (``proc.cannot_park``) instead of parking a goroutine that is in the
  middle of something else. Non-blocking calls work: a select with
  ``default``, ``close``, ``go``, ``Timer.stop``. Handlers run later, in the
  short-lived goroutine, may block: it is in the middle of nothing, and the
  threads-era ``signal.signal(SIGTERM, lambda *a: server.shutdown())`` (which
  waits for serve_forever to stop) works there, as in a thread. The queue's
  later handlers wait for a blocked one, as CPython's wait on the main thread.
- An exception a handler raises (KeyboardInterrupt from
  ``default_int_handler`` included) belongs to the main goroutine, as
  CPython's belong to the main thread: raised at once when the handler ran
  on main in user code, otherwise delivered with ``proc.goraise``, which
  takes a parked main off its wait. A worker's ``except:`` never sees it.
  Uncaught in the implicit runtime (the script's top level is main), a
  KeyboardInterrupt reaches ``sys.excepthook``: the program ends as under
  ``gort run`` (rt0's implicit excepthook: the program's hook or ``signal:
  interrupt``, finalization, status 130).
- os/signal (``gort.signal``): ``notify`` registers channels per signal,
  delivered by the same path with a non-blocking send; a full channel drops
  the signal (Go's semantics) and counts it (``Stats.signal_dropped``).
  While a goroutine waits to receive from a registered channel a blocked
  program is not a deadlock (``notify_awaited``; Go keeps any program with a
  registered channel alive, its signal_recv holding an M: gort reports a
  deadlock that no delivery can end).

The wake-up fd. Every caught signal makes CPython's C handler write one
byte to the fd given to ``set_wakeup_fd``, gort's SIGURGs included: at a
200 us slice that filled asyncio's socket and printed "Exception ignored
... wakeup fd" for every later signal. With gort holding the C-level fd,
gort's SIGURGs go to gort's pipe only; ``sighandler`` writes one byte to the
program's fd for each of the program's own signals it is called for (the
kernel and CPython merge repeats of a signal before a handler runs, so a
burst can give fewer bytes than the raw C handler would have), and reports
a failed write as CPython does (only when ``warn_on_full_buffer``).

Rejected: running handlers always in the handler goroutine (a spinning main
would see its KeyboardInterrupt only after a time slice, and ``frame``
would always be gort's); running them always inline and making every
runtime section a critical section (a flag set and cleared around every
channel operation: the hot path); signalfd or ``sigwait`` on a thread
(CPython still needs its own C handler for SIGINT, and a Python handler
installed by a library would bypass it); Trio's KI protection (a marker in
protected frames, checked by the handler) is what the frame walk does,
with gort's files as the protected set.

Limits: code that calls ``_signal.signal`` directly, or kept a reference to
``signal.signal`` from before the run, bypasses the patch: its handler runs
unwrapped, as without this module. Signals still queued when the run ends
are not handled: the program is over, and a handler calling gort would find
no runtime (rejected: re-raising them after the handlers are restored; the
program's handler then ran in the middle of teardown and its gort calls
failed). A handler that raises in main is an asynchronous exception, as
CPython's are: when main itself was running it lands at whatever
instruction main was at. Two exceptions delivered to main before it runs
are chained by ``proc.goraise`` through ``__context__``; if main raises
them inside an ``except`` clause, CPython's implicit chaining replaces that
link with the clause's exception, and the first is lost.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterable
from time import monotonic
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from greenlet import GreenletExit

from . import abandon, chan, proc
from .chan import Chan, operation_returned_at
from .error import ClosedChannelError
from .g import G, Gstatus
from .preempt import user_code_boundary
from .sched import Sched
from .signal_unix import SIGPREEMPT, real_getsignal, real_signal

if TYPE_CHECKING:
    from .preempt import Preempter
    from .signal_unix import QuitDump, Signals

_real_set_wakeup_fd = signal.set_wakeup_fd
_default_int_handler = signal.default_int_handler
_BYTES: Final = tuple(bytes((i,)) for i in range(256))
_RUNNING = Gstatus.RUNNING

# Signals notify() with no arguments does not catch: they cannot be caught
# (SIGKILL, SIGSTOP), gort uses them (SIGURG), or the kernel sends them for a
# fault in the thread itself, which a Python handler cannot return from.
_UNCATCHABLE: Final = frozenset({signal.SIGKILL, signal.SIGSTOP})
_SYNCHRONOUS: Final = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL})

_unraisable_type: Any = None


def report_unraisable(exc: BaseException, msg: str) -> None:
    """sys.unraisablehook(exc) with msg, as CPython's C code reports (PyErr_WriteUnraisable)."""
    global _unraisable_type
    if _unraisable_type is None:
        # The hook's argument type is not exposed; take it from one real report.
        seen: list[Any] = []
        old = sys.unraisablehook
        sys.unraisablehook = seen.append
        try:
            class _Probe:
                def __del__(self) -> None:
                    raise RuntimeError

            _Probe()
        finally:
            sys.unraisablehook = old
        _unraisable_type = type(seen[0])
    sys.unraisablehook(_unraisable_type((type(exc), exc, exc.__traceback__, msg, None)))


class SigQueue:
    """gort's ownership of the program's signal handlers, for one run (see the module essay)."""

    def __init__(self, s: Sched, preempter: Preempter, signals: Signals | None,
                 quit_: QuitDump) -> None:
        self.s = s
        self.preempter = preempter
        self.signals = signals  # gort's SIGURG handler, if installed
        self.quit = quit_
        # signum -> the program's handler, as getsignal shows it; for every signal
        # whose disposition gort decides (a Python handler, notify, ignore).
        self.prog: dict[int, Any] = {}
        self.notify: dict[int, list[Chan[Any]]] = {}  # signum -> channels (gort.signal)
        self.ignored: set[int] = set()
        self.q: deque[tuple[int, FrameType | None]] = s.sigq
        self.runner_live = False  # a run_queued goroutine is queued or running
        self.runner: G | None = None  # the last one started (fork.py asks)
        # The goroutine on whose stack run_queued_here runs handlers now (fork.py asks).
        self.running_on: G | None = None
        # The program's wake-up fd (signal.set_wakeup_fd) and its warn flag. The flag of
        # an fd set before the run cannot be read back from CPython: CPython's default.
        self.wakeup_fd = -1
        self.wakeup_warn = True
        self.installed = False
        # When the SIGALRM deliveries began to wake no goroutine (the handler returned
        # and nothing was runnable after it), or None: proc._alarm_due stops counting a
        # repeating timer that only counts as a wake-up to come. Cleared by a delivery
        # that woke someone, by any other signal, by a call from another thread.
        self.alarm_idle_since: float | None = None
        self._saved: dict[str, Any] = {}

    # -- start and end -------------------------------------------------------------

    def install(self) -> bool:
        """Take over the Python handlers and the wake-up fd (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        s = self.s
        for sig in signal.valid_signals():
            if self._gort_owned(sig):
                continue
            h = real_getsignal(sig)
            if callable(h):
                self.prog[sig] = h
                real_signal(sig, self.sighandler)
        old_fd = _real_set_wakeup_fd(s.netpoll.wfd, warn_on_full_buffer=False)
        self.wakeup_fd = old_fd
        self._saved = {"signal": signal.signal, "getsignal": signal.getsignal,
                       "set_wakeup_fd": signal.set_wakeup_fd}
        signal.signal = self.patched_signal
        signal.getsignal = self.patched_getsignal
        signal.set_wakeup_fd = self.patched_set_wakeup_fd
        s.sigstart = self.start_runner
        self.installed = True
        self._watch_yields()
        return True

    def close(self) -> None:
        """Give every signal the program's handler back, and the patched functions."""
        if not self.installed:
            return
        self.installed = False
        self._watch_yields()
        s = self.s
        s.sigstart = None
        s.siginuse = False
        for name, fn in self._saved.items():
            if getattr(signal, name) == getattr(self, "patched_" + name):
                setattr(signal, name, fn)
        fd = self.wakeup_fd
        try:
            _real_set_wakeup_fd(fd, warn_on_full_buffer=self.wakeup_warn)
        except (OSError, ValueError):  # the program closed it without telling signal
            _real_set_wakeup_fd(-1)
        # Handlers still queued are not run: the program is over, its goroutines are
        # abandoned, and a handler calling gort would find no runtime (Go, too, delivers
        # nothing once main has returned).
        self.q.clear()
        # The program's own handlers come back in restore_handlers, which teardown calls
        # once everything else is gone: back any earlier, one that raises would land in
        # the rest of teardown (a wake-up fd left pointing at gort's closed pipe, the
        # netpoller's descriptors leaked, a run that could not start again).

    def restore_handlers(self) -> None:
        """Give every signal the program's handler back (teardown's last step), then run
        the program's handlers for the signals that came during teardown (gort's handler
        only queued them). The first exception a handler raises is raised after the last
        handler is back."""
        prog, self.prog = self.prog, {}
        abandon.run_held_signals(prog, self.q)

    def _gort_owned(self, sig: int) -> bool:
        """SIGURG (preemption) and SIGQUIT (the dump) while gort's handlers hold them."""
        if sig == SIGPREEMPT and self.signals is not None and self.signals.installed:
            return True
        return sig == signal.SIGQUIT and self.quit.installed and \
            real_getsignal(sig) == self.quit.handler

    # -- the handler -----------------------------------------------------------------

    def sighandler(self, signum: int, frame: FrameType | None) -> None:
        """The Python-level handler of every signal the program handles (CPython calls it)."""
        fd = self.wakeup_fd
        if fd >= 0 and callable(self.prog.get(signum)):
            self._forward_wakeup(fd, signum)
        self.q.append((signum, frame))
        s = self.s
        mp = s.m0
        gp = mp.curg
        if gp is None or not gp.is_main or mp.locks or frame is None or s.closing \
                or gp.status is not _RUNNING or self.preempter.runtime_frame(frame) \
                or operation_returned_at(frame):
            # Not main's code (or main's call of an operation, returned, its result not
            # yet stored: a handler raising there dropped it; chan.operation_returned_at):
            # leave it
            # to the next scheduling round. (A handler run on
            # another goroutine's stack ran as that goroutine: it entered the RLock the
            # goroutine held in the middle of its critical section, and saw its
            # threading.local; a Lock the goroutine held raised RuntimeError. Adversarial
            # round 10, F3. CPython runs handlers on the main thread, as main.)
            s.stats.signal_deferred += 1
            if gp is not None:
                gp.preempt = True
            return
        self.run_queued_here(gp.is_main)

    def _forward_wakeup(self, fd: int, signum: int) -> None:
        try:
            os.write(fd, _BYTES[signum & 0xFF])
        except OSError as e:
            if isinstance(e, BlockingIOError) and not self.wakeup_warn:
                return
            report_unraisable(e, "Exception ignored when trying to write to the signal "
                                  "wakeup fd")

    @user_code_boundary
    def run_queued_here(self, on_main: bool, own_goroutine: bool = False) -> None:
        """Run the queued handlers now, in the running goroutine, with switching off
        unless the goroutine is the handlers' own (``run_queued``): it may park.

        on_main: the running goroutine is main, so a handler's exception is
        raised here (the rest of the queue waits for the next round), unless main is
        inside a tracing callback; otherwise it goes to main (proc.goraise), but for
        the GreenletExit that releases the handlers' goroutine when its run ends
        parked in a handler (abandon.py).
        """
        s = self.s
        mp = s.m0
        q = self.q
        locks = 0 if own_goroutine else 1
        mp.locks += locks
        outer, self.running_on = self.running_on, mp.curg
        try:
            while q:
                signum, frame = q.popleft()
                try:
                    self.dispatch(signum, frame)
                except BaseException as e:
                    if on_main and not s.tracing.value:
                        if q and mp.curg is not None:
                            mp.curg.preempt = True  # the rest at the next safe point
                        raise
                    if abandon.reaping and isinstance(e, GreenletExit):
                        raise  # the run ended with this goroutine parked in a handler
                    # To main: wakes it if parked. Main itself inside a profile, trace or
                    # monitoring callback gets it at its next safe point outside: CPython
                    # drops the exception a frame is unwinding when the callback for that
                    # frame's "return" event raises (exc_mix.py under sys.setprofile lost
                    # an Alarm in 1 run of 8, adversarial round 7).
                    proc.idle_raise(s, e)
        finally:
            self.running_on = outer
            mp.locks -= locks

    @user_code_boundary
    def dispatch(self, signum: int, frame: FrameType | None) -> None:
        """One signal: its notify channels, then the program's handler."""
        idle_since, self.alarm_idle_since = self.alarm_idle_since, None
        if signum in self.ignored:
            return
        s = self.s
        self._dispatch(s, signum, frame)
        if signum == signal.SIGALRM and not proc.work_waiting(s):
            # Returned without raising and woke nobody (the M's other goroutines are all
            # on queues, parked or dead): the streak of idle deliveries goes on.
            self.alarm_idle_since = monotonic() if idle_since is None else idle_since

    @user_code_boundary
    def _dispatch(self, s: Sched, signum: int, frame: FrameType | None) -> None:
        chans = self.notify.get(signum)
        if chans:
            sig = signal.Signals(signum) if signum in _SIGNAMES else signum
            for ch in tuple(chans):
                try:
                    if ch.try_send(sig):
                        s.stats.signal_notified += 1
                    else:
                        s.stats.signal_dropped += 1  # full: Go drops it too
                except ClosedChannelError as e:
                    e.add_note(f"gort.signal: a channel registered with notify for "
                               f"{_name(signum)} was closed; call gort.signal.stop(ch) "
                               "before closing it")
                    raise
        h = self.prog.get(signum)
        if callable(h) and not (chans and h is _default_int_handler):
            s.stats.signal_handled += 1
            h(signum, frame)

    def notify_awaited(self) -> bool:
        """A goroutine waits to receive from a notify channel: a signal may wake it, so
        nothing runnable is not a deadlock (Go keeps any program with a Notify alive:
        sig.inuse; gort only one that waits for the signal)."""
        return any(ch.recvq.has_waiter() for chans in self.notify.values() for ch in chans)

    # The handler goroutine's frames below the program's handler (run_queued down to
    # _dispatch) are user-code boundaries: the handler is preempted like any goroutine's
    # code (a handler computing for 1 s held the P for all of it, "runtime: no hook"), and
    # the lock-wait recovery switches it out of a wait for a thread lock a preempted
    # goroutine holds (a handler's `with lk:` over a Lock made before gort hung the run).
    # Nothing of these frames' is mid-update at a call of the handler, where a park
    # could already switch it out. Run on another goroutine's stack (run_queued_here from
    # a safe point) m.locks is raised: no switch at all.

    def start_runner(self) -> None:
        """Start the goroutine that runs the queue (called by the scheduler: Sched.sigstart)."""
        if self.runner_live or not self.q:
            return
        self.runner_live = True
        self.runner = proc.newproc(self.s, self.run_queued, (), {}, None)

    @user_code_boundary
    def run_queued(self) -> None:
        """The handler goroutine: run what is queued, then exit."""
        try:
            self.run_queued_here(False, own_goroutine=True)
        finally:
            self.runner_live = False

    # -- the patched signal functions ------------------------------------------------

    def patched_signal(self, signalnum: int, handler: Any) -> Any:
        """signal.signal during a gort run: record the program's handler, install gort's."""
        if not (callable(handler) or handler in (signal.SIG_DFL, signal.SIG_IGN)):
            raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a "
                            "callable object")
        if not isinstance(handler, signal.Handlers) and handler in (0, 1):
            handler = signal.Handlers(handler)
        sig = int(signalnum)
        if threading.current_thread() is not threading.main_thread():
            raise ValueError("signal only works in main thread of the main interpreter")
        if sig == SIGPREEMPT and self.signals is not None and self.signals.installed:
            return self.signals.set_forward(handler)
        if sig == signal.SIGQUIT and sig not in self.prog and self._gort_owned(sig):
            old: Any = signal.SIG_DFL  # gort's dump stands for the default
        else:
            old = self.prog[sig] if sig in self.prog else real_getsignal(sig)
        self.ignored.discard(sig)  # the program's latest word wins over ignore()
        self._apply(sig, handler)
        self.prog[sig] = handler
        self._watch_yields()
        return old

    def _watch_yields(self) -> None:
        """Have iter(ch)'s pure generator note where its items go (chan.returned_at) while
        the program has a handler of its own that may raise: the note costs ~1,000
        instructions an item (measured: buffered iteration 6,615 -> 7,574), and Ctrl-C's
        default KeyboardInterrupt ends the loop anyway."""
        chan.watch_yields[0] = self.installed and any(
            callable(h) and h is not _default_int_handler for h in self.prog.values())

    def patched_getsignal(self, signalnum: int) -> Any:
        """signal.getsignal during a gort run: the program's handler, never gort's."""
        sig = int(signalnum)
        if sig == SIGPREEMPT and self.signals is not None and self.signals.installed:
            return self.signals.prev
        if sig in self.ignored:
            return signal.SIG_IGN
        if sig in self.prog:
            return self.prog[sig]
        if self._gort_owned(sig):
            return signal.SIG_DFL
        return real_getsignal(sig)

    def patched_set_wakeup_fd(self, fd: int, /, *, warn_on_full_buffer: bool = True) -> int:
        """signal.set_wakeup_fd during a gort run: the program's fd, fed by gort's handler."""
        if threading.current_thread() is not threading.main_thread():
            raise ValueError("set_wakeup_fd only works in main thread of the main interpreter")
        fd = int(fd)
        if fd != -1:
            os.fstat(fd)  # OSError for a bad fd, as CPython
            if os.get_blocking(fd):
                raise ValueError(f"the fd {fd} must be in non-blocking mode")
        old = self.wakeup_fd
        self.wakeup_fd = fd
        self.wakeup_warn = bool(warn_on_full_buffer)
        return old

    def _apply(self, sig: int, handler: Any) -> None:
        """Set sig's C-level disposition for program handler ``handler``."""
        if sig in self.ignored:
            real_signal(sig, signal.SIG_IGN)
        elif callable(handler) or self.notify.get(sig):
            real_signal(sig, self.sighandler)
        elif sig == signal.SIGQUIT and handler == signal.SIG_DFL and self.quit.installed:
            real_signal(sig, self.quit.handler)  # gort's dump stands for the default again
        else:
            real_signal(sig, handler)

    def _program_handler(self, sig: int) -> Any:
        if sig in self.prog:
            return self.prog[sig]
        if self._gort_owned(sig):
            return signal.SIG_DFL  # SIGQUIT's dump stands for the default
        h = real_getsignal(sig)
        return signal.SIG_DFL if h is None else h

    # -- os/signal (gort.signal) -----------------------------------------------------

    def notify_add(self, ch: Chan[Any], sigs: Iterable[int]) -> None:
        for sig in sigs:
            h = self._program_handler(sig)
            chans = self.notify.setdefault(sig, [])
            if ch not in chans:
                chans.append(ch)
            self.ignored.discard(sig)
            self._apply(sig, h)
            self.prog[sig] = h
        self.s.siginuse = any(self.notify.values())

    def notify_stop(self, ch: Chan[Any]) -> None:
        for sig, chans in self.notify.items():
            if ch in chans:
                chans.remove(ch)
                self._apply(sig, self.prog[sig])
        self.s.siginuse = any(self.notify.values())

    def ignore(self, sigs: Iterable[int]) -> None:
        for sig in sigs:
            h = self._program_handler(sig)
            self.notify.pop(sig, None)
            self.ignored.add(sig)
            self._apply(sig, h)
            self.prog[sig] = h
        self.s.siginuse = any(self.notify.values())

    def reset(self, sigs: Iterable[int]) -> None:
        for sig in sigs:
            if sig not in self.prog:
                continue
            self.notify.pop(sig, None)
            self.ignored.discard(sig)
            self._apply(sig, self.prog[sig])
        self.s.siginuse = any(self.notify.values())


def _stop_interval_timers() -> None:
    """At exit, after the program's atexit callbacks: disarm an interval timer whose
    signal has a Python handler (Go: the process's timers end with it).

    CPython's finalization resets such a handler to SIG_DFL and then goes on
    finalizing for milliseconds (longer with gort's modules loaded, about 8 ms
    measured under ``gort run``): a repeating ITIMER_REAL firing in that window
    killed a program that had reported a deadlock (exit 2) with SIGALRM (-14),
    every time with a 10 ms interval. Nothing of the program can run a handler
    after this point, so disarming changes nothing else.
    """
    for which, sig in ((signal.ITIMER_REAL, signal.SIGALRM),
                       (signal.ITIMER_VIRTUAL, signal.SIGVTALRM),
                       (signal.ITIMER_PROF, signal.SIGPROF)):
        try:
            if signal.getitimer(which)[0] > 0 and callable(real_getsignal(sig)):
                signal.setitimer(which, 0)
        except (OSError, ValueError):  # not this platform's, or a thread without signals
            pass


atexit.register(_stop_interval_timers)


_SIGNAMES: Final = frozenset(int(s) for s in signal.Signals)


def _name(sig: int) -> str:
    return signal.Signals(sig).name if sig in _SIGNAMES else f"signal {sig}"


def catchable(sig: int) -> bool:
    """notify() with no signals catches these (Go: all incoming signals)."""
    return sig not in _UNCATCHABLE and sig not in _SYNCHRONOUS and sig != SIGPREEMPT

