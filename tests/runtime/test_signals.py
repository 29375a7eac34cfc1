"""The program's signals under gort (runtime/sigqueue.py) and gort.signal (Go's os/signal).

Handlers never run inside the runtime's own code, their exceptions (and
Ctrl-C) go to the main goroutine, gort's SIGURGs never reach the program's
wake-up fd, and notify delivers into channels without blocking. Whole
programs run in subprocesses, under `gort run` and as plain `python` (the
implicit runtime), with timeouts that fail the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort.runtime import signal_unix

from ..conftest import ROOT, TESTPROG, run_testprog

MODES = [pytest.param(True, id="gort-run"), pytest.param(False, id="python")]


def _kill_later(sig: int, delay: float) -> threading.Timer:
    t = threading.Timer(delay, os.kill, (os.getpid(), sig))
    t.start()
    return t


# -- whole programs ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("--run",)], ids=["top-level", "gort.run"])
@pytest.mark.parametrize("module", MODES)
def test_sigalrm_raising_while_main_is_parked(module: bool, args: tuple[str, ...]) -> None:
    r = run_testprog("sig_alarm_parked.py", *args, module=module, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["alarm", "x", "y"], r.stdout + r.stderr


PINGPONG = re.compile(r"pingpong (\d+) sent (\d+) handled (\d+) delivered (\d+) dropped (\d+) "
                      r"deferred (\d+)")


@pytest.mark.parametrize("module", MODES)
@pytest.mark.parametrize("how", ["handler", "notify"])
@pytest.mark.parametrize("godebug", ["", "asyncpreemptoff=1"])
def test_notify_idiom_while_pingpong_and_sigusr1_every_ms(module: bool, how: str,
                                                           godebug: str) -> None:
    """The issue's instance: no internal error, no false deadlock, no hang, nothing lost."""
    r = run_testprog("sig_pingpong.py", how, "0.5", module=module, timeout=60,
                     env={"GODEBUG": godebug})
    assert r.returncode == 0, r.stdout + r.stderr
    m = PINGPONG.fullmatch(r.stdout.strip())
    assert m is not None, r.stdout + r.stderr
    rounds, sent, handled, delivered, dropped, _deferred = map(int, m.groups())
    assert rounds > 1000
    assert 0 < handled <= sent  # the kernel merges a signal sent while one is pending
    assert delivered + dropped == handled
    assert r.stderr == ""


def _interrupt(args: list[str]) -> tuple[int, str, str]:
    """Start a program, wait for READY, send SIGINT; return (status, stdout, stderr)."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=ROOT, env={k: v for k, v in os.environ.items()
                                        if k not in ("GODEBUG", "GOMAXPROCS")})
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "READY\n"
        time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


def _cmd(module: bool, prog: str, *args: str) -> list[str]:
    path = str(TESTPROG / prog)
    return [sys.executable, "-m", "gort", "run", path, *args] if module else \
        [sys.executable, path, *args]


@pytest.mark.parametrize("module", MODES)
def test_ctrl_c_reaches_main_parked_in_wait_while_a_worker_swallows_everything(
        module: bool) -> None:
    status, out, err = _interrupt(_cmd(module, "ctrl_c_main.py", "catch"))
    assert (status, out, err) == (0, "main caught 0\n", "")


@pytest.mark.parametrize("module", MODES)
def test_ctrl_c_uncaught_ends_with_signal_interrupt_and_130(module: bool) -> None:
    status, out, err = _interrupt(_cmd(module, "ctrl_c_main.py"))
    assert (status, out, err) == (130, "", "signal: interrupt\n")


@pytest.mark.parametrize("module", MODES)
def test_ctrl_c_while_the_m_idles_ends_with_130(module: bool) -> None:
    status, out, err = _interrupt(_cmd(module, "ctrl_c_idle.py"))
    assert (status, out, err) == (130, "", "signal: interrupt\n")


def test_ctrl_c_spinning_implicit_program_ends_with_130() -> None:
    status, out, err = _interrupt(_cmd(False, "ctrl_c.py"))
    assert (status, out, err) == (130, "", "signal: interrupt\n")


@pytest.mark.parametrize("module", MODES)
def test_gort_sigurgs_never_reach_asyncio_wakeup_fd(module: bool) -> None:
    r = run_testprog("asyncio_wakeup.py", module=module, timeout=60,
                     env={"GORT_PREEMPT_NS": "200000"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Exception ignored" not in r.stderr
    m = re.fullmatch(r"preemptions (\d+) bytes (\d+) handled (\d+)", r.stdout.strip())
    assert m is not None, r.stdout + r.stderr
    assert int(m.group(1)) >= 20, r.stdout  # gort did preempt, with signals
    assert (m.group(2), m.group(3)) == ("0", "1")  # no stray byte; asyncio's own delivered


STRESS_S = os.environ.get("GORT_SIG_STRESS_S", "3")
STRESS_SEED = os.environ.get("GORT_SIG_STRESS_SEED", "20261130")


@pytest.mark.parametrize("module", MODES)
def test_signal_stress_nothing_lost(module: bool) -> None:
    """Seeded: replay with GORT_SIG_STRESS_SEED=N; the long run is GORT_SIG_STRESS_S=20."""
    r = run_testprog("sig_stress.py", STRESS_S, STRESS_SEED, timeout=60 + 3 * float(STRESS_S),
                     env={"GORT_PREEMPT_NS": "50000", "GORT_SEED": STRESS_SEED},
                     module=module)
    assert r.returncode == 0, f"seed {STRESS_SEED}\n{r.stdout}{r.stderr}"
    assert r.stdout.startswith("ok "), r.stdout
    counts = dict(re.findall(r"(\w+) (\d+)", r.stdout))
    assert int(counts["messages"]) > 1000 and int(counts["raised"]) > 0
    # An Alarm the preemption hook raised over one in flight was lost (1 run in 12; 1 in
    # 2 under load): the program counts them, and none may be lost.
    assert counts["lost"] == "0", f"seed {STRESS_SEED}\n{r.stdout}{r.stderr}"
    assert r.stderr == ""


_VALUE_MODES = ["recv", "recv_ok", "select", "next", "buffered", "send", "go", "psend", "wggo"]


@pytest.mark.parametrize(("mode", "how"), [
    *[(m, "") for m in _VALUE_MODES],
    # A profile function calling gort on every c_return (its operations hid the
    # program's from the C core's note: helper-71, F1).
    *[(m, "prof") for m in ("recv", "send", "go")],
    # A 50 us slice: the preemption hook switched main out right after the operation
    # and raised the handler's exception there when main resumed (F3).
    *[(m, "50us") for m in ("recv_ok", "select", "next", "go")],
])
def test_a_handler_raising_right_after_an_operation_undoes_nothing(mode: str,
                                                                      how: str) -> None:
    """A raising 1 ms SIGALRM, and main redoing the operation each exception interrupted:
    every value arrives exactly once (the C core lost ~20 values in 300,000 and sent ~50
    twice; the pure next(it) lost 32 in 60,000; go, on both paths, started a goroutine
    twice for most exceptions: its safe point came after the goroutine was made; through
    functools.partial, select sent twice and wg.go started twice: F2)."""
    env = {"GORT_PREEMPT_NS": "50000"} if how == "50us" else {}
    args = ("prof",) if how == "prof" else ()
    r = run_testprog("sig_core_values.py", mode, "30000", *args, env=env, timeout=120,
                     module=False)
    assert r.returncode == 0, f"{r.stdout}{r.stderr}"
    m = re.fullmatch(rf"{mode} booms (\d+) missing (\d+) dup (\d+)\n", r.stdout)
    assert m is not None, r.stdout + r.stderr
    assert int(m.group(1)) > 0 and (m.group(2), m.group(3)) == ("0", "0"), r.stdout
    assert r.stderr == ""


# -- in-process: the program's view of signal.* during a run -------------------------------


class Boom(Exception):
    pass


def test_getsignal_shows_the_programs_handlers_and_everything_is_restored() -> None:
    def mine(signum: int, frame: Any) -> None:
        pass

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGUSR1)}
    real = signal.signal

    def main() -> list[Any]:
        s = rt.running()
        assert s is not None and s.sigqueue is not None
        seen = [signal.getsignal(signal.SIGINT), signal.signal(signal.SIGUSR1, mine),
                signal.getsignal(signal.SIGUSR1), signal.signal(signal.SIGUSR1, signal.SIG_IGN),
                signal.getsignal(signal.SIGUSR1)]
        signal.signal(signal.SIGUSR1, mine)
        return seen

    seen = gort.run(main)
    assert seen == [signal.default_int_handler, signal.SIG_DFL, mine, mine, signal.SIG_IGN]
    assert signal.signal is real
    assert signal.getsignal(signal.SIGINT) == before[signal.SIGINT]
    assert signal.getsignal(signal.SIGUSR1) is mine  # the program's last word stays
    signal.signal(signal.SIGUSR1, before[signal.SIGUSR1])


def test_signal_signal_keeps_cpythons_errors() -> None:
    def main() -> None:
        with pytest.raises(TypeError, match="signal handler must be"):
            signal.signal(signal.SIGUSR1, 42)
        with pytest.raises(OSError, match="Invalid argument"):
            signal.signal(signal.SIGKILL, lambda n, f: None)
        with pytest.raises(ValueError, match="signal number out of range"):
            signal.signal(1000, signal.SIG_DFL)

    gort.run(main)


def test_set_wakeup_fd_is_the_programs_and_returns_the_previous_one() -> None:
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        def main() -> list[int]:
            s = rt.running()
            assert s is not None
            out = [signal.set_wakeup_fd(w), signal.set_wakeup_fd(-1)]
            r2, w2 = os.pipe()
            try:
                with pytest.raises(ValueError, match="non-blocking"):
                    signal.set_wakeup_fd(w2)
            finally:
                os.close(r2)
                os.close(w2)
            signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            return out

        assert gort.run(main) == [-1, w]
        assert signal.set_wakeup_fd(-1) == w  # the program's fd is CPython's again
    finally:
        os.close(r)
        os.close(w)


def test_handler_exception_from_a_worker_goes_to_main_not_the_worker() -> None:
    log: list[Any] = []

    def handler(signum: int, frame: Any) -> None:
        log.append(gort.current_id())
        raise Boom("from handler")

    def main() -> None:
        signal.signal(signal.SIGUSR1, handler)
        done: gort.Chan[None] = gort.Chan(1)

        def worker() -> None:
            deadline = time.monotonic() + 5
            os.kill(os.getpid(), signal.SIGUSR1)
            while time.monotonic() < deadline and not log:
                try:
                    sum(range(100))
                except BaseException:  # must not see the handler's exception
                    log.append("worker swallowed")
            done.send(None)

        gort.go(worker)
        try:
            done.recv()
        except Boom as e:
            log.append(str(e))
        done.recv()

    old = signal.getsignal(signal.SIGUSR1)
    try:
        gort.run(main)
    finally:
        signal.signal(signal.SIGUSR1, old)
    # Run in the handlers' goroutine, never as the worker (2) it interrupted (adversarial
    # round 10, F3: it entered the worker's RLock and saw its threading.local).
    assert log[1:] == ["from handler"] and log[0] not in (1, 2), log


def test_blocking_call_in_a_handler_is_a_clear_error_and_leaves_nothing_queued() -> None:
    log: list[Any] = []

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        buf: gort.Chan[int] = gort.Chan(1)
        extra: gort.Chan[str] = gort.Chan(1)

        def handler(signum: int, frame: Any) -> None:
            gort.select((buf.send, signum), gort.default)  # non-blocking: fine
            gort.go(extra.send, "go from handler")
            ch.send(1)  # blocking: an error

        signal.signal(signal.SIGUSR1, handler)
        deadline = time.monotonic() + 5
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            while time.monotonic() < deadline:
                sum(range(10))
        except RuntimeError as e:
            log.append(str(e))
        assert len(ch.sendq) == 0
        log.append(buf.recv())
        log.append(extra.recv())
        gort.go(ch.send, 7)
        log.append(ch.recv())

    old = signal.getsignal(signal.SIGUSR1)
    try:
        gort.run(main)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert log[0].startswith("gort: a blocking call (chan send) in a signal handler"), log
    assert "gort.signal.notify" in log[0]
    assert log[1:] == [signal.SIGUSR1, "go from handler", 7]


def test_handler_caught_in_the_idle_wait_runs_in_a_goroutine() -> None:
    ids: list[int] = []

    def main() -> None:
        signal.signal(signal.SIGUSR1, lambda n, f: ids.append(gort.current_id()))
        _kill_later(signal.SIGUSR1, 0.05)
        gort.sleep(0.3)  # the M idles in the netpoller meanwhile

    old = signal.getsignal(signal.SIGUSR1)
    try:
        gort.run(main)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert len(ids) == 1 and ids[0] > 1  # the handler goroutine, not main, not "no goroutine"


# -- gort.signal ---------------------------------------------------------------------------


def test_notify_delivers_and_stop_stops() -> None:
    def main() -> list[Any]:
        sigs: gort.Chan[signal.Signals] = gort.Chan(2)
        gort.signal.notify(sigs, signal.SIGUSR1, signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGUSR2)
        out: list[Any] = [sigs.recv()]
        gort.signal.stop(sigs)
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
        gort.signal.notify(sigs, signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        out.append(sigs.recv())
        gort.signal.stop(sigs)
        return out

    got = gort.run(main)
    assert got == [signal.SIGUSR2, signal.SIGUSR1]
    assert isinstance(got[0], signal.Signals)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_notify_full_channel_drops_and_counts() -> None:
    def main() -> tuple[int, int, int]:
        sigs: gort.Chan[signal.Signals] = gort.Chan(1)
        gort.signal.notify(sigs, signal.SIGUSR1)
        for _ in range(3):
            os.kill(os.getpid(), signal.SIGUSR1)
            gort.sleep(0.005)
        st = gort.stats()
        return len(sigs), st["signal_notified"], st["signal_dropped"]

    assert gort.run(main) == (1, 1, 2)


def test_notify_sigint_replaces_keyboard_interrupt() -> None:
    def main() -> Any:
        sigs: gort.Chan[signal.Signals] = gort.Chan(1)
        gort.signal.notify(sigs, signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return sigs.recv()

    assert gort.run(main) == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_waiting_only_for_a_notified_signal_is_not_a_deadlock() -> None:
    def main() -> Any:
        sigs: gort.Chan[signal.Signals] = gort.Chan(1)
        gort.signal.notify(sigs, signal.SIGUSR1)
        _kill_later(signal.SIGUSR1, 0.1)
        return sigs.recv()

    assert gort.run(main) == signal.SIGUSR1


def test_notify_a_closed_channel_tells_main_what_to_do() -> None:
    def main() -> str:
        sigs: gort.Chan[signal.Signals] = gort.Chan(1)
        gort.signal.notify(sigs, signal.SIGUSR1)
        sigs.close()
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            gort.sleep(0.05)
        except gort.ClosedChannelError as e:
            return "\n".join(getattr(e, "__notes__", []))
        finally:
            gort.signal.stop(sigs)
        return "no error"

    assert "call gort.signal.stop(ch) before closing it" in gort.run(main)


def test_ignore_and_reset() -> None:
    hits: list[int] = []

    def main() -> list[Any]:
        signal.signal(signal.SIGUSR1, lambda n, f: hits.append(n))
        gort.signal.ignore(signal.SIGUSR1)
        out: list[Any] = [signal.getsignal(signal.SIGUSR1)]
        os.kill(os.getpid(), signal.SIGUSR1)  # ignored: the process survives, no handler
        gort.sleep(0.02)
        out.append(len(hits))
        gort.signal.reset(signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        gort.sleep(0.02)
        out.append(len(hits))
        return out

    old = signal.getsignal(signal.SIGUSR1)
    try:
        assert gort.run(main) == [signal.SIG_IGN, 0, 1]
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_notify_all_and_reset_all() -> None:
    def main() -> tuple[bool, bool, Any]:
        sigs: gort.Chan[signal.Signals] = gort.Chan(4)
        gort.signal.notify(sigs)
        s = rt.running()
        assert s is not None
        caught = set(s.sigqueue.notify)
        os.kill(os.getpid(), signal.SIGWINCH)
        got = sigs.recv()
        gort.signal.reset()
        return (signal.SIGTERM in caught and signal.SIGHUP in caught,
                bool(caught & {signal.SIGKILL, signal.SIGSTOP, signal.SIGURG, signal.SIGSEGV}),
                got)

    assert gort.run(main) == (True, False, signal.SIGWINCH)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize(("args", "exc", "match"), [
    (("not a chan", signal.SIGUSR1), TypeError, r"must be a gort\.Chan"),
    ((None, "SIGUSR1"), TypeError, "is not a signal"),
    ((None, True), TypeError, "is not a signal"),
    ((None, 1000), ValueError, "not a signal number"),
    ((None, signal.SIGKILL), ValueError, "SIGKILL cannot be caught"),
    ((None, signal.SIGSTOP), ValueError, "SIGSTOP cannot be caught"),
    ((None, signal.SIGURG), ValueError, "SIGURG is gort's preemption signal"),
])
def test_notify_rejects_bad_input(args: tuple[Any, ...], exc: type[Exception],
                                  match: str) -> None:
    def main() -> None:
        ch = gort.Chan(1) if args[0] is None else args[0]
        with pytest.raises(exc, match=match):
            gort.signal.notify(ch, *args[1:])
        with pytest.raises(TypeError, match=r"must be a gort\.Chan"):
            gort.signal.stop(42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="SIGKILL"):
            gort.signal.ignore(signal.SIGKILL)

    gort.run(main)


def test_gort_signal_off_the_main_thread_is_a_clear_error() -> None:
    errors: list[BaseException] = []

    def main() -> None:
        gort.signal.notify(gort.Chan(1), signal.SIGUSR1)

    def thread() -> None:
        try:
            gort.run(main)
        except BaseException as e:  # recorded for the assertion
            errors.append(e)

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = threading.Thread(target=thread)
        t.start()
        t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError), errors
    assert "not on the main thread" in str(errors[0])


def test_notify_sigquit_replaces_gorts_dump() -> None:
    def main() -> Any:
        sigs: gort.Chan[signal.Signals] = gort.Chan(1)
        gort.signal.notify(sigs, signal.SIGQUIT)
        os.kill(os.getpid(), signal.SIGQUIT)
        got = sigs.recv()
        gort.signal.stop(sigs)
        s = rt.running()
        assert s is not None
        dump_back = signal_unix.real_getsignal(signal.SIGQUIT) == s.sigqueue.quit.handler
        return got, signal.getsignal(signal.SIGQUIT), dump_back

    assert gort.run(main) == (signal.SIGQUIT, signal.SIG_DFL, True)
    assert signal.getsignal(signal.SIGQUIT) is signal.SIG_DFL


@pytest.mark.parametrize("warn", [True, False])
def test_full_program_wakeup_fd_is_reported_as_cpython_does(warn: bool) -> None:
    """A failed write to the program's fd: CPython's unraisable report, only if warn."""
    reports: list[Any] = []
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:  # fill the pipe
            try:
                os.write(w, b"x" * 65536)
            except BlockingIOError:
                break

        def main() -> None:
            signal.signal(signal.SIGUSR1, lambda n, f: None)
            signal.set_wakeup_fd(w, warn_on_full_buffer=warn)
            os.kill(os.getpid(), signal.SIGUSR1)
            gort.sleep(0.01)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)

        old_hook = sys.unraisablehook
        sys.unraisablehook = reports.append
        try:
            gort.run(main)
        finally:
            sys.unraisablehook = old_hook
    finally:
        os.close(r)
        os.close(w)
    if warn:
        assert len(reports) == 1
        assert reports[0].err_msg == ("Exception ignored when trying to write to the signal "
                                      "wakeup fd")
        assert isinstance(reports[0].exc_value, BlockingIOError)
    else:
        assert reports == []


def test_graceful_shutdown_example() -> None:
    r = run_testprog(str(ROOT / "examples" / "graceful_shutdown.py"), "0.1", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"got SIGTERM; 4 workers stopped after \d+ items", r.stdout.strip()), \
        r.stdout


def test_queued_handlers_run_before_goroutines_that_timers_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal noticed in gort's code is handled before the timers of the same round fire."""
    # No SIGURG: one landing in time.sleep below would switch main out before the append.
    monkeypatch.setenv("GODEBUG", "asyncpreemptoff=1")
    log: list[str] = []

    def main() -> None:
        s = rt.running()
        assert s is not None
        signal.signal(signal.SIGUSR1, lambda n, f: log.append("handler"))

        def sleeper() -> None:
            gort.sleep(0.01)
            log.append("timer")

        gort.go(sleeper)
        gort.gosched()  # the sleeper arms its timer
        time.sleep(0.05)  # ...which is due from now on
        s.sigq.append((signal.SIGUSR1, None))  # what sighandler queues for gort's own code
        gort.sleep(0.1)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)

    gort.run(main)
    assert log == ["handler", "timer"]


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_alarm_timeout_idiom_is_no_deadlock(module: bool) -> None:
    r = run_testprog("alarm_timeout.py", module=module, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, "timed out after_0.2s True\n", "")


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
@pytest.mark.parametrize("mode", ["count", "notify"])
def test_signals_that_wake_nobody_do_not_hide_a_deadlock(module: bool, mode: str) -> None:
    # count: a repeating ITIMER_REAL whose handler only counts; notify: a notify channel
    # nobody receives from. Both hung forever before (checkdead never ran).
    t = time.monotonic()
    r = run_testprog("alarm_repeat.py", mode, module=module, timeout=30)
    elapsed = time.monotonic() - t
    assert r.returncode == 2, (r.stdout, r.stderr[-2000:])
    assert r.stderr.startswith("fatal error: all goroutines are asleep - deadlock!\n"), \
        r.stderr[-2000:]
    assert "goroutine 1 [chan receive]:" in r.stderr, r.stderr[-2000:]
    if mode == "count":
        assert elapsed >= 0.5  # the ticks counted as a wake-up for the (shortened) horizon


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_repeating_alarm_that_raises_or_wakes_is_no_deadlock(module: bool) -> None:
    r = run_testprog("alarm_repeat.py", "raise", module=module, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "timeout at tick 5 after >= 0.04 s True\n", ""), r.stderr[-2000:]
    r = run_testprog("alarm_repeat.py", "wake", module=module, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "woken 5 times, increasing True\n", ""), r.stderr[-2000:]


def test_keyboard_interrupt_reaches_a_main_that_computes_alone() -> None:
    for _ in range(3):  # the old code lost it in about a third of the runs
        r = run_testprog("ki_compute_alone.py", timeout=60, module=False)
        assert (r.returncode, r.stdout) == (0, "PASS\n"), (r.stdout, r.stderr)


def test_a_handler_raising_during_teardown_leaves_nothing_behind() -> None:
    r = run_testprog("teardown_alarm.py", timeout=120, module=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "wakeup fds left 0 fds grew 0\n", (r.stdout, r.stderr[-2000:])


@pytest.mark.parametrize("where", ["schedinit", "services"])
@pytest.mark.parametrize("how", ["implicit", "run"])
def test_a_handler_calling_gort_while_the_runtime_starts(how: str, where: str) -> None:
    # Before: re-entering the implicit start deadlocked on its lock (schedinit), parked the
    # half-started main goroutine (a false deadlock), or failed the start ("called
    # outside any goroutine"). Now a non-blocking send completes against the buffer and
    # a blocking call gets error.Finalizing, whose message says the runtime is starting.
    r = run_testprog("start_reentry.py", how, where, module=False, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "['send case 0', 'Finalizing: True'] tick\nends\n", ""), r.stderr[-2000:]


@pytest.mark.parametrize("module", [True, False])
def test_a_handler_run_in_the_handlers_goroutine_may_block(module: bool) -> None:
    r = run_testprog("sig_handler_blocks.py", "shutdown", module=module, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "serve_forever ended: True\nshutdown returned\n", "")
    r = run_testprog("sig_handler_blocks.py", "parked-at-end", module=module, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "handler parks\nmain done\n", "")


@pytest.mark.parametrize("mode", ["gort-run", "plain-python"])
def test_a_handler_raising_while_the_end_releases_goroutines_keeps_the_panic(mode: str) -> None:
    """The handler runs after the release, not inside the goroutine being released, and
    its exception is reported beside main's panic, not in its place (brk9 F3)."""
    r = run_testprog("late_handler_raise.py", "raise", module=mode == "gort-run")
    assert r.returncode == 2, r.stderr
    assert "panic: ValueError: the panic\n\ngoroutine 1 [running]:" in r.stderr, r.stderr
    assert "Exception ignored" in r.stderr and "Late: from the handler" in r.stderr, r.stderr
    assert "Error in sys.excepthook" not in r.stderr and "goroutine ?" not in r.stderr
    assert "handler inside the release: False" in r.stderr, r.stderr
    r = run_testprog("late_handler_raise.py", "return")
    assert r.returncode == 2 and "panic: Late: from the handler" in r.stderr, r.stderr


@pytest.mark.parametrize("mode", ["gort-run", "plain-python"])
def test_a_handler_raising_while_the_end_is_reported_keeps_the_status(mode: str) -> None:
    r = run_testprog("late_handler_report.py", module=mode == "gort-run")
    assert r.returncode == 2, r.stderr
    assert "Exception ignored while the program's end was reported" in r.stderr, r.stderr
    assert "Late: from the handler" in r.stderr and "Error in sys.excepthook" not in r.stderr


@pytest.mark.parametrize("calls_gort", [False, True], ids=["plain", "gort-call"])
def test_a_handler_raising_inside_a_profile_function_never_drops_the_exception_in_flight(
        calls_gort: bool) -> None:
    # Adversarial round 7 (exc_mix.py under sys.setprofile, an Alarm lost in 1 run of 8):
    # the handler ran in main inside the profile function's "return" event for a frame
    # unwinding a ValueError, and CPython dropped the ValueError when the Alarm left the
    # profile function. The Alarm now waits for main's next safe point outside the
    # callback (also when the profile function's own gort call is a safe point).
    r = run_testprog("prof_unwind_signal.py", *(["gort"] if calls_gort else []), timeout=60)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout == "['ValueError', 'Alarm', 'ValueError', 'Alarm', 'ValueError', 'Alarm']\n"
