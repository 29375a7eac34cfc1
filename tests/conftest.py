"""Shared test helpers: a clean runtime per test, and whole programs in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import gort
import gort.runtime as rt
from gort.runtime import schedcheck, sysmon

# The scheduler's consistency is checked at the end of every run of the suite
# (thoroughly: channels found through gc.get_objects() too); a broken invariant fails
# the run with GortInternalError. Subprocesses get it through GODEBUG (run_testprog).
schedcheck.enabled = 2

# A suite started in the background of a non-interactive shell inherits SIGINT and
# SIGQUIT ignored, and so would every program it starts (an ignored disposition survives
# exec; CPython then installs no KeyboardInterrupt handler): the Ctrl-C and SIGQUIT
# tests would hang. Give them their defaults (a caught signal is reset by exec).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

TESTPROG = Path(__file__).parent / "testprog"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _no_runtime_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts and ends with no runtime, gort thread or gort signal handler.

    (A test marked gort runs inside the plugin's runtime: the plugin's own
    tests check that it leaves nothing behind.)
    """
    if request.node.get_closest_marker("gort") is not None:
        yield
        return
    assert rt.running() is None
    patched = (signal.signal, signal.getsignal, signal.set_wakeup_fd)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGURG, signal.SIGINT)}
    yield
    assert rt.running() is None, "a test left a gort runtime running"
    for sig, h in before.items():
        assert signal.getsignal(sig) == h, f"{sig.name} handler not restored"
    assert (signal.signal, signal.getsignal, signal.set_wakeup_fd) == patched, \
        "signal functions not restored"
    assert sysmon.live_threads() == 0, "a test left a sysmon thread running"


def run_testprog(name: str, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 30, module: bool = True) -> subprocess.CompletedProcess[str]:
    """Run tests/testprog/NAME under `python -m gort run`, with a bound."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMAXPROCS")}
    full_env.update(env or {})
    godebug = full_env.get("GODEBUG", "")
    if "gortcheck" not in godebug:
        full_env["GODEBUG"] = f"{godebug},gortcheck=2" if godebug else "gortcheck=2"
    prog = str(TESTPROG / name) if not os.path.isabs(name) else name
    cmd = [sys.executable, "-m", "gort", "run", prog, *args] if module else \
          [sys.executable, prog, *args]
    # A program that hangs is asked for its state before it is killed: SIGQUIT first
    # (gort's dump of every goroutine), then SIGABRT (faulthandler's dump of every
    # thread, for a hang below the point where Python handlers run).
    full_env.setdefault("PYTHONFAULTHANDLER", "1")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=full_env, cwd=ROOT)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = _dump_and_kill(p)
        raise ProgramHung(cmd, timeout, out, err) from None
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


class ProgramHung(subprocess.TimeoutExpired):
    """A run_testprog program outlived its bound; the message carries what it printed,
    its goroutine dump and its threads' tracebacks."""

    def __str__(self) -> str:
        # stderr's start too: sysmon's report, printed before the dump of every goroutine,
        # names what preemption waited for (a CI log cut it off when only the end showed).
        err = self.stderr or ""
        if len(err) > 12000:
            err = f"{err[:3000]}\n[... {len(err) - 12000} characters ...]\n{err[-9000:]}"
        return (f"{super().__str__()}\n--- stdout (end) ---\n{(self.stdout or '')[-3000:]}"
                f"\n--- stderr (start and end) ---\n{err}")


def _dump_and_kill(p: subprocess.Popen[str]) -> tuple[str, str]:
    for sig in (signal.SIGQUIT, signal.SIGABRT, signal.SIGKILL):
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    return p.communicate()


def tick_counter(period: float, count: int = 1000) -> list[int]:
    """Start a goroutine that sleeps ``period`` seconds ``count`` times, counting in the
    returned list's only item: other goroutines kept running while something waited."""
    ticks = [0]

    def tick() -> None:
        for _ in range(count):
            gort.sleep(period)
            ticks[0] += 1

    gort.go(tick)
    return ticks


def settle() -> None:
    """Yield until no other goroutine is runnable (call from the main goroutine)."""
    s = rt.running()
    assert s is not None
    for _ in range(10_000):
        pp = s.m0.p
        assert pp is not None
        if pp.runqlen() == 0 and not s.runq:
            return
        rt.gosched(rt.getg())
    raise AssertionError("settle: goroutines kept running")
