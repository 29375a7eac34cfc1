"""sysmon's report of a lock wait it cannot recover (a Lock made before import gort,
acquired by C code): it names the wait and shows the holder's real stack."""

from __future__ import annotations

import os
import re
import sys

import pytest

from ..conftest import TESTPROG, run_testprog

SLICES = [{}, {"GORT_PREEMPT_NS": "50000"}]
FUTEX = sys.platform == "linux" and os.uname().machine in ("x86_64", "aarch64")


@pytest.mark.parametrize("env", SLICES, ids=["default", "50us"])
@pytest.mark.parametrize("holder", ["preempted", "parked"])
@pytest.mark.parametrize("how", ["methodcaller", "sorted-key", "greenlet"])
def test_c_made_lock_wait_is_reported_with_the_holder(how: str, holder: str,
                                                      env: dict[str, str]) -> None:
    if how != "sorted-key" and not FUTEX:
        pytest.skip("the futex wait is read from /proc/<tid>/syscall (Linux x86-64, arm64)")
    r = run_testprog("prelock_c_acquire.py", how, holder, env=env, timeout=60, module=False)
    err = r.stderr
    # The watchdog ends the hang once the report is out (exit 3); the waiter never got in.
    assert (r.returncode, r.stdout) == (3, ""), err
    heads = [ln for ln in err.splitlines() if ln.startswith("gort: ")]
    assert len(heads) == 1, err
    if how == "sorted-key":
        assert re.match(r"gort: goroutine 3 has waited \d+\.\ds for a thread lock while ",
                        heads[0]), err
        assert "C code sits between its frames" in heads[0]
        assert "goroutine 3 [running, in a call]:\n__main__.waiter.<locals>.<lambda>" in err
    else:
        assert re.match(r"gort: goroutine 3 has been blocked for [\d.]+ms in a call that "
                        r"waits on a futex \(a thread lock", heads[0]), err
        assert "operator.methodcaller('acquire')" in heads[0]
        assert "goroutine 3 [running, in a call]:\n__main__.waiter(...)" in err
    # Not the spinner's report: the waiter uses no CPU (before: "has run for 1.0s without
    # stopping" about the blocked waiter).
    assert "without stopping" not in err
    # The holder with its real stack: its own frames, down to the goroutine's function
    # (inside a child greenlet too: before, only "gort.sync.waitgroup._run(...)"-like
    # entries), and the parked main goroutine; never the waiter twice.
    # Parked: asleep, or runnable once its 50 ms timer is due before sysmon reports (the
    # waiter blocked the thread late on a loaded machine: 2 runs in 120, one CPU for 3).
    line = 51 if holder == "preempted" else 50
    states = ("runnable",) if holder == "preempted" else ("sleep", "runnable")
    holder_at = max(err.find(f"goroutine 2 [{state}]:\n") for state in states)
    assert holder_at >= 0, err
    stack = err[holder_at:err.index("created by", holder_at)]
    prog = TESTPROG / "prelock_c_acquire.py"
    assert f"__main__.holder_spin_here(...)\n\t{prog}:{line}\n__main__.holder(...)" in stack
    # main, asleep; or runnable when a 50 us slice ended it between gort.go and its sleep
    # (seen once at load 5: the waiter blocked the thread before main ran again).
    assert "goroutine 1 [sleep]:" in err or "goroutine 1 [runnable]:" in err, err
    assert err.count("goroutine 3 [") == 1
    assert "Make such locks after import gort" in err or "Make the lock after import gort" \
        in err



@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
@pytest.mark.parametrize("env", SLICES, ids=["default", "50us"])
def test_monitoring_callback_asking_current_id_spares_sysmon(env: dict[str, str]) -> None:
    r = run_testprog("monitoring_current_id.py", env=env, timeout=60, module=False)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "main events >= 20: True sysmon ok: True\n", ""), r.stderr


def test_unyielding_report_counts_cpu_time_not_wall_time() -> None:
    # A deferral of 1.5 s wall time on a CPU shared with a busy process: about 0.75 s of
    # CPU. Before: "has run for 1.0s without stopping" (wall time; adversarial F5).
    r = run_testprog("unyielding_loaded.py", timeout=60, module=False)
    if r.stdout.startswith("SKIP"):
        pytest.skip(f"the CPU was not shared: {r.stdout.strip()}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "OK\n", ""), r.stderr[-2000:]


def test_unyielding_report_names_the_finalizer_goroutine() -> None:
    # B5's report: "goroutine 2147483649 has run for 1.0s ... preemption has been waiting
    # for a safe point", a number the program never saw and advice about locks for a
    # goroutine that gort never preempts. Now it says what the goroutine is, and why.
    r = run_testprog("report_system_goroutine.py", timeout=60, module=False)
    assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr
    heads = [ln for ln in r.stderr.splitlines() if ln.startswith("gort: ")]
    assert len(heads) == 1, r.stderr
    assert re.match(r"gort: goroutine 2147483649 \(gort's finalizer goroutine: the program's "
                    r"__del__ methods and weakref callbacks, and collections, run in it\) has "
                    r"run for [\d.]+s without stopping while [12] goroutines? could run; gort "
                    r"never preempts its own goroutines\.$", heads[0]), heads[0]
    assert "goroutine 2147483649 [running]:\n__main__.Slow.__del__(...)" in r.stderr
    assert "keep it short, and hand long work to a goroutine (gort.go)" in r.stderr
