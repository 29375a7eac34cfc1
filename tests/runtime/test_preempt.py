"""sysmon and asynchronous preemption, as whole programs (Go: preempt_test.go, crash_test.go)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort.runtime.preempt import SAFE_OPCODES, Preempter

from ..conftest import ROOT, TESTPROG, run_testprog

EXAMPLE = str(ROOT / "examples" / "spin_ok.py")
FAST = {"GORT_PREEMPT_NS": "200000"}  # heavy preemption: a 0.2 ms slice


def test_example_prints_ok_within_one_second() -> None:
    t0 = time.monotonic()
    r = run_testprog(EXAMPLE, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "OK\n"
    assert time.monotonic() - t0 < 5  # interpreter start included; the wait itself below


def test_example_time_to_ok_is_about_one_slice() -> None:
    code = ("import time, gort\nt = time.perf_counter()\n"
            "gort.go(lambda: [0 for _ in iter(int, 1)])\n"
            "def spin():\n    while True:\n        pass\n"
            "gort.go(spin)\ngort.sleep(0.001)\nprint(time.perf_counter() - t)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) < 1.0


def test_asyncpreemptoff_never_prints_ok() -> None:
    with pytest.raises(subprocess.TimeoutExpired) as ei:
        run_testprog(EXAMPLE, env={"GODEBUG": "asyncpreemptoff=1"}, timeout=1.5)
    out = ei.value.stdout or b""
    assert b"OK" not in (out if isinstance(out, bytes) else out.encode())


def test_four_spinners_all_progress_within_300ms() -> None:
    r = run_testprog("spinners_progress.py", "300", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("progressed 4 in "), r.stdout


def test_ticker_never_late_by_100ms_while_four_spin() -> None:
    r = run_testprog("ticker_late.py", timeout=20)
    assert r.returncode == 0, r.stderr
    m = re.match(r"worst ([\d.]+)ms cpu ([\d.]+)ms", r.stdout)
    # The CPU the process spent between two ticks: one 10 ms slice of a hog at most, plus
    # overhead (10-13 ms measured), bounded at 10 slices for a loaded machine (at load 4,
    # with the 3.13 suite beside it, 55 and 60 ms were seen against a 50 ms bound).
    # (Wall-clock lateness also counts time the OS gave other processes: on a loaded
    # machine it says nothing about gort.)
    assert m is not None and float(m.group(2)) <= 100, r.stdout


@pytest.mark.parametrize(("prog", "args"), [
    ("print_pipe.py", ("3000",)),
    ("queue_logging.py", ("2000",)),
    ("import_spin.py", ()),
    ("finally_once.py", ()),
])
def test_hazard_programs_finish_correctly_under_heavy_preemption(prog: str,
                                                                 args: tuple[str, ...]) -> None:
    if prog == "print_pipe.py":
        # The parent reads the pipe slowly, so the writers block in write() with the
        # buffer's lock held while the spinners are preempted around them.
        # The writers block the M in write() for long: sysmon's report of that is right,
        # but this test is about the bytes, so it is off here (tested on its own below).
        full_env = {**os.environ, **FAST, "GODEBUG": "blockreport=0"}
        p = subprocess.Popen([sys.executable, "-m", "gort", "run", str(TESTPROG / prog), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                             cwd=ROOT)
        assert p.stdout is not None
        lines = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            chunk = p.stdout.read(4096)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            time.sleep(0.002)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert lines == 3 * int(args[0]) and err.decode().strip() == "DONE"
        return
    r = run_testprog(prog, *args, env=FAST, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("OK"), r.stdout[-500:]
    assert "RuntimeError" not in r.stderr


def test_finally_runs_once_and_goroutines_were_preempted() -> None:
    r = run_testprog("finally_once.py", env=FAST, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"preempt_async (\d+)", r.stdout)
    assert m is not None and int(m.group(1)) > 0, r.stdout


@pytest.mark.parametrize("when", ["before", "after"])
def test_user_sigurg_handler_receives_self_sent_sigurg(when: str) -> None:
    r = run_testprog("user_sigurg.py", when, env=FAST, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "got 3 forwarded 3" in r.stdout


def test_user_sigurg_handler_installed_before_implicit_start() -> None:
    r = run_testprog("user_sigurg.py", "before", env=FAST, timeout=30, module=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "got 3 forwarded 3" in r.stdout


def test_sigint_ends_a_spinning_program_with_130() -> None:
    p = subprocess.Popen([sys.executable, "-m", "gort", "run", str(TESTPROG / "ctrl_c.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stdout is not None
    assert p.stdout.readline() == "READY\n"
    time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 130
    assert err.strip() == "signal: interrupt"


def test_stress_many_goroutines_many_preemptions_every_message_counted() -> None:
    r = run_testprog("stress.py", "3000", env={"GORT_PREEMPT_NS": "50000"}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.match(r"sent (\d+) received (\d+) preemptions (\d+)", r.stdout)
    assert m is not None, r.stdout
    assert m.group(1) == m.group(2) and int(m.group(3)) >= 3_000


def test_runs_under_cprofile_and_still_preempts(tmp_path: Path) -> None:
    # python -m cProfile installs a C profiler before gort starts; gort's start-up probe
    # once restored it with sys.setprofile, which refuses that object (TypeError).
    out = tmp_path / "prof"
    r = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out),
                        str(ROOT / "examples" / "spin_ok.py")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (r.returncode, r.stdout) == (0, "OK\n"), r.stderr
    import pstats

    # The profiler kept running: gort.sleep returned (after the spinner was preempted)
    # and was recorded (the spinner itself never returns, so cProfile never files it).
    funcs = set(pstats.Stats(str(out)).stats)  # type: ignore[attr-defined]
    assert any(path.endswith("gort/time.py") and fn == "sleep" for path, _, fn in funcs)


def test_lines_run_after_preemption_are_covered(tmp_path: Path) -> None:
    pytest.importorskip("coverage")
    data = tmp_path / ".coverage"
    # --concurrency=greenlet, as the README says: the C tracer's stack is per greenlet
    r = subprocess.run([sys.executable, "-m", "coverage", "run", "--concurrency=greenlet",
                        f"--data-file={data}", "-m", "gort", "run",
                        str(TESTPROG / "coverage_target.py")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    import coverage

    cov = coverage.Coverage(data_file=str(data))
    cov.load()
    target = str(TESTPROG / "coverage_target.py")
    lines = set(cov.get_data().lines(target) or ())
    src = (TESTPROG / "coverage_target.py").read_text().splitlines()
    line_a = next(i + 1 for i, s in enumerate(src) if "LINE-A" in s)
    assert line_a in lines and line_a + 1 in lines
    assert len(src) in lines  # main's last line, after both switches
    assert max(lines) == len(src)  # and nothing of another file filed under this one


@pytest.mark.parametrize("tracer", ["c", "timid"])
@pytest.mark.parametrize("mode", ["sleep", "csum"])
def test_a_goroutine_polling_in_a_c_call_is_switched_out_under_coverage(
        tmp_path: Path, mode: str, tracer: str) -> None:
    # Adversarial round 12, finding 1 (3.11): under `coverage run` (pytest --cov) a
    # goroutine polling with time.sleep was never switched out (every request came right
    # after the sleep, and a C tracer leaves no hook to arm); under --timid one looping on
    # sum() took 40 s for main's fifty 1 ms sleeps. The handler asks again at the next
    # check now.
    pytest.importorskip("coverage")
    args = ["--timid"] if tracer == "timid" else []
    r = subprocess.run([sys.executable, "-m", "coverage", "run", *args,
                        f"--data-file={tmp_path / '.coverage'}", "-m", "gort", "run",
                        str(TESTPROG / "cov_poll.py"), mode],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (r.returncode, r.stdout) == (0, "longest_under_1s True\n"), \
        r.stdout + r.stderr[-2000:]


# -- the safe-point rules, in process -------------------------------------------


def test_safe_opcodes_are_backward_jumps_and_resume() -> None:
    import dis

    names = {dis.opname[op] for op in SAFE_OPCODES}
    assert "RESUME" in names and "JUMP_BACKWARD" in names
    assert not any("CALL" in n or "NO_INTERRUPT" in n for n in names)


def test_unsafe_reason_names_runtime_and_locking_modules() -> None:
    def main() -> list[str]:
        s = rt.running()
        assert s is not None
        p = s.preempter
        assert isinstance(p, Preempter)
        gp = rt.getg()
        here = sys._getframe()
        reasons = [p.unsafe_reason(gp, here)]
        # a frame of gort's own code on the stack
        reasons.append(p.unsafe_reason(gp, _frame_in_gort()))  # type: ignore[arg-type]
        s.m0.locks += 1
        reasons.append(p.unsafe_reason(gp, here))
        s.m0.locks -= 1
        # a frame running inside logging (a filter is called with the handler lock path)
        import logging

        logger = logging.getLogger("gort-probe")
        logger.propagate = False
        logger.addFilter(lambda rec: reasons.append(p.unsafe_reason(gp, sys._getframe(1)))
                         or False)
        logger.warning("probe")
        return reasons

    assert gort.run(main) == ["", "runtime", "locks", "logging"]


def _frame_in_gort() -> object:
    """A frame whose code is gort's: the select parser calls getattr on our case object."""
    import gort.runtime.select as sel

    seen: list[object] = []

    class Case:
        def __getattr__(self, name: str) -> None:
            seen.append(sys._getframe(1))
            raise AttributeError(name)

    try:
        sel._parse((Case(),))
    except TypeError:
        pass
    return seen[0]


def test_goroutine_blocking_in_c_calls_is_preempted_by_the_hook() -> None:
    """Signals land inside time.sleep (a CALL): the handler arms the one-shot hook instead."""
    r = run_testprog("c_call_loop.py", timeout=20)
    assert r.returncode == 0, r.stderr
    m = re.match(r"ok after ([\d.]+)ms deferred (.*)", r.stdout)
    assert m is not None, r.stdout
    assert float(m.group(1)) < 1000
    # the handler's hook (a signal landed after a call), or the one armed after a call
    # that sysmon saw blocked (no signal: it would interrupt the sleep)
    assert "in call: hooked" in m.group(2) or "after call: hooked" in m.group(2)


def test_existing_trace_function_is_never_clobbered() -> None:
    r = run_testprog("settrace_kept.py", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("kept True async True"), r.stdout
    assert "in call: hooked" in r.stdout  # chained in front of the Python tracer


def test_pdb_works_in_a_goroutine_while_preemption_is_active() -> None:
    # Two "n": 3.13 stops on the breakpoint() line itself, 3.11 on the line after it.
    r = subprocess.run([sys.executable, "-m", "gort", "run", str(TESTPROG / "pdb_goroutine.py")],
                       input="p x\nn\nn\np x\nc\n", capture_output=True, text=True, timeout=30,
                       cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(Pdb) 41" in r.stdout
    assert "(Pdb) 42" in r.stdout
    assert r.stdout.rstrip().endswith("result 42")


def test_other_signals_are_handled_promptly_while_goroutines_are_preempted() -> None:
    r = run_testprog("other_signal.py", env=FAST, timeout=30)
    assert r.returncode == 0, r.stderr
    m = re.match(r"handled (\d+) max ([\d.]+)ms async (\d+)", r.stdout)
    assert m is not None, r.stdout
    assert int(m.group(1)) == 10 and float(m.group(2)) < 100 and int(m.group(3)) > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="struct sigaction layout")
def test_sigurg_handler_is_installed_with_sa_restart() -> None:
    import ctypes

    class Sigaction(ctypes.Structure):  # glibc x86_64 / aarch64
        _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                    ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    sa_restart = 0x10000000

    def flags() -> int:
        old = Sigaction()
        assert libc.sigaction(signal.SIGURG, None, ctypes.byref(old)) == 0
        return int(old.flags)

    inside = gort.run(flags)
    assert inside & sa_restart


def _with_sample(self: Any, cv: Any, items: Any) -> None:
    with self.lock:
        _ = 1
        with cv:
            _ = 2
    with open(items):
        pass


def _call_sample(self: Any, fn: Any, args: Any) -> None:
    self.submit(fn, *args)
    fn(*args)
    sorted(args, key=fn)
    _call_sample(self, fn, *args)(1)


def test_with_blocks_and_callees_are_read_from_the_bytecode() -> None:
    import dis

    from gort.runtime import symtab

    code = _with_sample.__code__
    blocks = symtab.with_blocks(code)
    assert len(blocks) == 3  # open(items)'s too, with no load chain naming it
    assert {expr for _, _, expr in blocks} == {
        (("LOAD_FAST", "cv"),), (("LOAD_FAST", "self"), ("LOAD_ATTR", "lock")), ()}
    lines: dict[tuple[tuple[str, str], ...], set[int]] = {}
    for i in dis.get_instructions(code):
        for ranges, _, expr in blocks:
            if any(start <= i.offset < end for start, end in ranges) and \
                    i.opname == "STORE_FAST" and i.positions:
                lines.setdefault(expr, set()).add(i.positions.lineno)
    first = code.co_firstlineno
    # `_ = 1` and `_ = 2` in self.lock's body, `_ = 2` in cv's too (nested)
    assert lines == {(("LOAD_FAST", "self"), ("LOAD_ATTR", "lock")): {first + 2, first + 4},
                     (("LOAD_FAST", "cv"),): {first + 4}}
    calls = [i.offset for i in dis.get_instructions(_call_sample)
             if i.opname.startswith("CALL") and i.opname != "CALL_INTRINSIC_1"]
    got = [symtab.callee_expr(_call_sample.__code__, off) for off in calls]
    assert got[0] == (("LOAD_FAST", "self"), ("LOAD_ATTR", "submit"))
    assert got[1] == (("LOAD_FAST", "fn"),)
    assert got[2] == (("LOAD_GLOBAL", "sorted"),)
    assert () in got[3:]  # the call of a call's result: no load chain names it


# -- issue 8/9 programs, each 20 times at the default slice and at a 50 us slice ----------

REPS = 20
SLICES = [pytest.param({}, id="default"), pytest.param({"GORT_PREEMPT_NS": "50000"}, id="50us")]


def _run_reps(prog: str, *args: str, env: dict[str, str], module: bool = True,
              timeout: float = 30) -> list[subprocess.CompletedProcess[str]]:
    """Run a test program REPS times, two at a time (the machine has 2 cores)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as ex:
        return list(ex.map(lambda _i: run_testprog(prog, *args, env=env, timeout=timeout,
                                                   module=module), range(REPS)))


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("how", ["plain", "greenlet"])
def test_buffered_writer_over_python_raw_never_reentered(env: dict[str, str], how: str) -> None:
    for r in _run_reps("buffered_raw.py", how, env=env):
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "bytes 240 counts [80, 80, 80] errors []", r.stdout


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("mode", ["with", "timed"])
def test_a_condition_over_a_lock_made_before_gort_never_hangs_its_waiters(
        env: dict[str, str], mode: str) -> None:
    # Adversarial round 10, F1: switched out right after Condition.wait took the Lock
    # back; the next waiter blocked the thread, and the recovery refused it.
    want = "counters [900, 900, 900]" if mode == "timed" else "counters [0, 0, 900]"
    for r in _run_reps("prelock_cond.py", mode, env=env, module=False, timeout=60):
        assert (r.returncode, r.stdout) == (0, f"{want} exclusion broken 0\nOK\n"), \
            r.stdout + r.stderr[-3000:]


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("kind", ["lock", "rlock"])
@pytest.mark.parametrize(("prog", "want"), [
    # Adversarial round 10, F2: a raising handler's exception was raised a slice late
    # (outside main's try), or at a with block's exit before __exit__ (the lock held).
    ("exc_waiter.py", "counter 9000 lock free True\nOK\n"),
    # F3: a handler run on a worker's stack ran as that goroutine, inside its RLock.
    ("sig_lock.py", "OK\n"),
])
def test_signal_handlers_beside_goroutines_holding_thread_locks(
        env: dict[str, str], kind: str, prog: str, want: str) -> None:
    for r in _run_reps(prog, kind, env=env, module=False, timeout=60):
        assert (r.returncode, r.stdout) == (0, want), r.stdout + r.stderr[-3000:]


@pytest.mark.parametrize("mode", ["tee_for", "fin_for"])
def test_a_generator_under_a_c_iterator_or_finalized_from_c_is_never_switched_out(
        mode: str) -> None:
    # Adversarial round 7: exempted as "resumed by FOR_ITER" when the caller's FOR_ITER
    # advanced tee or islice, not the generator: "cannot re-enter the tee iterator", and
    # a finally run from the generator's deallocation switched out halfway (every run).
    for _ in range(3):
        r = run_testprog("gen_c_iterator.py", mode, env={"GORT_PREEMPT_NS": "50000"},
                         timeout=60)
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stdout + r.stderr[-2000:]


@pytest.mark.parametrize("mode", ["tee_next", "tee_list", "fin_next", "fin_sum", "shared_zip"])
def test_a_generator_under_a_c_iterator_resumed_by_next_is_never_switched_out(
        mode: str) -> None:
    # Adversarial round 8: next(), send() and the consuming builtins (list, sum) were
    # taken to resume the generator itself whatever their argument was: every run failed.
    for env in ({"GORT_PREEMPT_NS": "50000"}, {}):
        r = run_testprog("gen_c_iterator.py", mode, env=env, timeout=60)
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stdout + r.stderr[-2000:]


@pytest.mark.parametrize("args", [("2", "gr"), ("0", "sib")], ids=["nested", "sibling"])
def test_never_switched_out_inside_a_sort_whose_key_switches_greenlets(
        args: tuple[str, str]) -> None:
    # The safe-point walk stopped at a child greenlet's first frame (R1), followed the
    # parent instead of the greenlet that switched in (round 7: a key switching to a
    # sibling), and on 3.12+ read a suspended greenlet's frames as if live (round 7).
    for _ in range(3):
        r = run_testprog("csort_greenlets.py", "1", args[0], args[1],
                         env={"GORT_PREEMPT_NS": "50000"}, timeout=60)
        assert (r.returncode, r.stdout) == (0, "watchers saw an empty list 0 times\n"), \
            r.stdout + r.stderr[-2000:]


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("how", ["sys", "threading"])
def test_setprofile_every_goroutine_keeps_its_events_no_hang(env: dict[str, str],
                                                            how: str) -> None:
    for r in _run_reps("setprofile_sleep.py", how, env=env):
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("both True again True"), r.stdout


@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("how", ["trace", "profile"])
def test_a_goroutine_living_in_a_tracing_callback_that_calls_gort_is_switched_out(
        how: str, env: dict[str, str]) -> None:
    # Adversarial round 7, finding 3: on 3.11 no hook could be armed inside the program's
    # trace function (the trampoline overwrites the traced frame's f_trace), and main
    # waited up to 6.6-7.9 s for a 1 ms sleep. The hook goes on the traced frame's
    # caller now; later requests still look (it may not return soon).
    for _ in range(3):
        r = run_testprog("trace_heavy_fair.py", how, env=env, timeout=120, module=False)
        # (stderr: no "has run for 1.0s without stopping" report either)
        assert (r.returncode, r.stdout, r.stderr) == (0, "OK\n", ""), \
            r.stdout + r.stderr[-2000:]


def test_the_programs_trace_function_sees_the_same_events_under_gort() -> None:
    # The preemption hook chains in front of the program's local tracers (3.11): nothing
    # of gort's may show in what the program's function sees.
    r = run_testprog("settrace_transparent.py", timeout=60, module=False)
    assert (r.returncode, r.stderr) == (0, ""), r.stdout + r.stderr
    assert r.stdout == ("plain 30 (True, None, False)\nmethod 30 (True, None, False)\n"
                        "closures 20 (True, None, False)\n"
                        "raising 10 (True, 'tracer gave up', True)\nOK\n"), r.stdout


@pytest.mark.parametrize("width", [100, 1000])
def test_goroutines_under_a_costly_trace_function_still_take_turns(width: int) -> None:
    # Adversarial round 9, finding 1 (3.11): nearly every request landed inside the trace
    # function's callback, where no hook can be armed; sysmon re-sent every 2-10 ms, and
    # main's 1 ms sleeps took 1.8-3.6 s (median) beside four traced spinners. The handler
    # now asks again at the next eval-breaker check (15-30 ms; 2 ms at width 1000).
    # all_ran failed 1 run in 10 to 1 in 40 at width 1000 (CI, 3.13), each time with
    # schedtick 1: see the test below.
    r = run_testprog("settrace_starve.py", str(width), timeout=300, module=False)
    assert (r.returncode, r.stdout) == (0, "median_under_1s True all_ran True\n"), \
        r.stdout + r.stderr[-2000:]


def test_a_goroutine_readied_in_the_round_it_parked_in_still_loses_its_used_up_slice(
        ) -> None:
    # CI, stop 30 (settrace_starve.py 1000 above, 1 run in 10 to 1 in 40): main's 1 ms
    # sleeps outlasted their timers under the costly tracer, so each park readied main in
    # the same round; the requests to end its slice landed inside gort.sleep's traced
    # lines, and the switch cleared them: the spinners never started (schedtick 1).
    for env in ({}, {"GORT_PURE_PYTHON": "1"}):
        r = run_testprog("due_at_park.py", env=env, timeout=120, module=False)
        assert (r.returncode, r.stdout, r.stderr) == \
            (0, "all_ran True within_20_sleeps True\n", ""), (env, r.stdout + r.stderr[-2000:])


@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("mode", ["want", "none"])
def test_opcode_trace_events_are_the_programs_own_under_the_hook(
        mode: str, env: dict[str, str]) -> None:
    # 3.11: the hook sets f_trace_opcodes on the frame it is armed on. The program's
    # tracer that asked for opcode events lost the ones seen while the hook was armed (1
    # or 2 a run); one that had not asked could be left with the flag set. The hook also
    # lasted one event under a program's local tracer (its result went into f_trace).
    want = "] opcodes" if mode == "want" else "] no opcodes"  # the plain run's, line 1
    for _ in range(3):
        r = run_testprog("trace_opcodes.py", mode, env=env, timeout=120, module=False)
        lines = r.stdout.splitlines() or [""]
        assert (r.returncode, lines[0].endswith(want), lines[-1]) == (0, True, "OK"), \
            r.stdout + r.stderr[-2000:]


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
def test_settrace_python_tracer_spinner_never_starves_others(env: dict[str, str]) -> None:
    for r in _run_reps("settrace_spin.py", env=env):
        assert r.returncode == 0, r.stderr
        assert r.stdout == ("ticks 20 spin_events True tick_events True "
                            "took_under_10s True\n"), r.stdout


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
def test_executor_made_before_the_run_mapped_from_goroutines(env: dict[str, str]) -> None:
    for r in _run_reps("executor_prerun.py", env=env):
        assert r.returncode == 0, r.stderr
        assert r.stdout == "[30, 55, 90, 135, 190, 255, 330, 415]\n", r.stdout


def test_a_foreign_c_wait_named_acquire_is_never_signalled() -> None:
    # Only _thread locks and SemLocks retry after a signal; a ctypes sem_wait reached as
    # obj.acquire() got EINTR from the lock-wait recovery after about 10 ms.
    r = run_testprog("foreign_acquire.py", env={"GODEBUG": "blockreport=0"}, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, "sem_wait 0\n", "")


@pytest.mark.parametrize("how", ["alias", "enter", "exitstack", "cm"])
def test_lock_made_before_the_run_taken_by_any_spelling(how: str) -> None:
    for env in ({}, {"GORT_PREEMPT_NS": "50000"}):
        r = run_testprog("prelock_spellings.py", how, env={**env, "GODEBUG": "blockreport=0"},
                         timeout=60, module=False)
        assert (r.returncode, r.stdout, r.stderr) == (0, f"{how} 300\n", ""), r.stderr


@pytest.mark.parametrize("how", ["star", "init", "meta", "new", "metacall", "call", "callsub"])
def test_call_machinery_between_frames_is_not_c_between(how: str) -> None:
    # fn(*args), a class's __init__, an instance's __call__: a spinner entered that way
    # is preempted where it spins (it once ran forever on 3.11: "C between frames").
    for env in ({}, FAST):
        r = run_testprog("star_call_spin.py", how, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "turns 5 under_10s True c_between 0\n", r.stdout


@pytest.mark.parametrize("how", [
    "setprofile",
    pytest.param("monitoring", marks=pytest.mark.skipif(
        sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")),
])
def test_program_hooks_raising_on_other_threads_never_reach_sysmon(how: str) -> None:
    r = run_testprog("sysmon_hooks.py", how, timeout=30)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "turns 5 under_10s True preempted True\n", r.stdout


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
def test_spinning_c_callbacks_are_deferred_counted_then_preempted(env: dict[str, str]) -> None:
    for r in _run_reps("c_callbacks.py", "callbacks", env=env):
        assert r.returncode == 0, r.stderr
        m = re.match(r"calls 12 moved_inside 0 after_return True True async True "
                     r"c_between (\d+) keys \['C between frames: hooked'\]", r.stdout)
        assert m is not None and int(m.group(1)) >= 3, r.stdout


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
def test_generator_under_for_loop_is_preempted_inside_no_deferral(env: dict[str, str]) -> None:
    for r in _run_reps("c_callbacks.py", "gen", env=env):
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("calls 4 moved_inside 4 after_return True True async True "
                                   "c_between 0 keys []"), r.stdout


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
def test_foreign_c_sleep_and_poll_never_see_eintr(env: dict[str, str]) -> None:
    for r in _run_reps("c_sleep_eintr.py", env={**env, "GODEBUG": "blockreport=0"}):
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.strip() == "calls 2 failed [] blocked_looks True", r.stdout
        assert r.stderr == ""


@pytest.mark.timeout(900)  # 20 runs, two at a time, each bounded by its own timeout
@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("how", ["with", "acquire"])
def test_raw_thread_lock_from_before_start_is_recovered(env: dict[str, str], how: str) -> None:
    for r in _run_reps("raw_lock.py", how, env=env, module=False):
        assert r.returncode == 0, r.stderr
        m = re.match(r"counter 600 of 600 lock_wait_signals (\d+) switched_in_acquire (\d+)",
                     r.stdout)
        assert m is not None, r.stdout
        assert int(m.group(2)) <= int(m.group(1))


@pytest.mark.parametrize("env", SLICES)
@pytest.mark.parametrize("how", ["ctxlib", "property", "getattr", "next"])
def test_raw_thread_lock_taken_through_cpythons_c_machinery_is_recovered(
        env: dict[str, str], how: str) -> None:
    """next() resuming a contextmanager's generator, a property's getter, __getattr__, a
    class iterator's __next__: only CPython's machinery between the frames, holding
    nothing, and the waiter is switched out in its wait (each hung in every run: C
    between, adversarial round 12). Three runs each: the hang was in every run."""
    for _ in range(3):
        r = run_testprog("raw_lock.py", how, env=env, module=False, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("counter 600 of 600 "), r.stdout + r.stderr
        assert r.stderr == ""


def test_blocking_call_is_reported_once_with_both_stacks() -> None:
    r = run_testprog("blocking_report.py", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "reports 1"
    err = r.stderr
    assert err.count("has been blocked in a call for") == 1, err
    assert re.search(r"goroutine (\d+) \[running, in a call\]:\n__main__\.blocker", err), err
    assert "[runnable]:\n__main__.spinner" in err and "gort.offload" in err
    assert "GODEBUG=blockreport=0" in err


def test_blocking_report_can_be_turned_off() -> None:
    r = run_testprog("blocking_report.py", env={"GODEBUG": "blockreport=0"}, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "reports 0" and r.stderr == ""


def test_blocking_report_counts_the_timers_that_came_due() -> None:
    r = run_testprog("blocking_report_timers.py", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "done 1"
    # The tickers' timers come due while main blocks the M; on a loaded machine the
    # scheduler may have fired one or both of them (with main's own) before main blocked,
    # and those are counted as goroutines that could run instead (both: once in a CI run
    # at load 4; one and one: once in a local CI, 3.13 beside the 3.11 suites).
    assert ("while 2 timers or wake-ups wait for it, since one thread" in r.stderr
            or "while 2 goroutines could run; all of them wait for it" in r.stderr
            or "while 1 goroutine could run and 1 timer was due" in r.stderr), r.stderr


def test_a_goroutine_that_cannot_be_preempted_is_reported_not_silent() -> None:
    p = subprocess.Popen([sys.executable, str(TESTPROG / "unyielding_rlock.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stderr is not None
    heads = []
    try:
        # First the holder's park with the lock held (once), then, after about a second,
        # the spinner that preemption cannot stop.
        while len(heads) < 2:
            line = p.stderr.readline()
            if not line:
                break
            if line.startswith("gort: goroutine "):
                heads.append(line)
    finally:
        p.kill()
        p.communicate(timeout=30)
    assert len(heads) == 2, heads
    assert heads[0].startswith("gort: goroutine 2 parks [chan receive] while its thread owns "
                               "a plain RLock made before gort was imported"), heads
    assert heads[1].startswith("gort: goroutine 3 has run for "), heads
    assert "without stopping while" in heads[1] and "'thread lock held'" in heads[1], heads


def test_a_long_callback_under_c_is_reported_exactly_once() -> None:
    r = run_testprog("unyielding_callback.py", timeout=120)
    assert (r.returncode, r.stdout) == (0, "[4, 3, 2, 1, 0] True\n"), r.stderr
    assert r.stderr.count("gort: goroutine ") == 1, r.stderr
    assert r.stderr.startswith("gort: goroutine 2 has run for "), r.stderr
    assert "unyielding_callback.py" in r.stderr


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_no_monitoring_tool_id_left_is_a_warning_not_silence() -> None:
    code = ("import sys, gort\n"
            "sys.monitoring.use_tool_id(3, 'a'); sys.monitoring.use_tool_id(4, 'b')\n"
            "gort.run(lambda: print('ran'))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert (r.returncode, r.stdout) == (0, "ran\n"), r.stderr
    assert "PreemptionWarning: gort: sys.monitoring tool ids 3 and 4 are both taken" in r.stderr


def test_with_statement_exit_is_program_code_not_c_between() -> None:
    # issue 8 adversarial pass: a with statement's normal __exit__ call (LOAD_CONST None x3,
    # CALL 2) read as C between frames, so nothing inside an __exit__ was ever preempted.
    r = run_testprog("with_exit.py", "spin", timeout=60)
    assert r.returncode == 0, r.stderr
    ticks = int(r.stdout.split()[1])
    assert ticks >= 5, r.stdout  # 0.3 s of spinning against a 5 ms ticker: ~60 when idle


def test_plain_lock_taken_in_exit_against_a_looping_holder_finishes() -> None:
    # The same pass: a pre-import plain Lock taken inside __exit__ while another goroutine
    # takes it in a loop hung silently (recovery refused inside __exit__; the holder was
    # preempted inside its with block every time). Now preemption waits for the block's end.
    r = run_testprog("with_exit.py", "lock", env={"GODEBUG": "blockreport=0"}, timeout=120)
    assert (r.returncode, r.stdout) == (0, "total 50\n"), r.stderr


@pytest.mark.parametrize("env", [{}, {"GORT_PREEMPT_NS": "50000"}],
                         ids=["default-slice", "50us-slice"])
def test_preempted_inside_with_frees_locals_when_dropped(env: dict[str, str]) -> None:
    # issue 8, F7: the check of the with block's manager read frame.f_locals, which on
    # 3.11/3.12 left a snapshot of the locals on the frame: a local deleted after a
    # preemption inside the block stayed alive (its __del__ ran after "after del").
    r = run_testprog("with_locals_freed.py", env=env, timeout=60)
    assert (r.returncode, r.stdout) == (0, "['freed', 'after del']\nOK\n"), r.stderr


def test_frame_locals_read_without_a_snapshot() -> None:
    from gort.runtime import symtab

    assert symtab._DIRECT  # the localsplus layout probe passed on this interpreter

    def f(arg: object) -> tuple[Any, Any, Any, list[Any]]:
        local = [1]
        cell = "c"

        def inner() -> tuple[str, object]:
            return cell, arg

        frame = sys._getframe()
        got = (symtab.frame_local(frame, "local"), symtab.frame_local(frame, "cell"),
               symtab.frame_local(frame, "unbound_yet"), symtab.frame_values(frame))
        unbound_yet = 1
        del unbound_yet
        inner()
        assert local == [1]
        return got

    sentinel = object()
    local, cell, unbound, values = f(sentinel)
    assert (local, cell, unbound) == ([1], "c", symtab._MISSING)
    assert sentinel in values and [1] in values and "c" in values


def test_an_armed_hook_is_seen_in_place_and_disarm_restores_the_frame() -> None:
    # 3.11: the check compared a fresh bound method with `is`, so the armed hook always
    # looked replaced and was saved as the frame's own tracer; when it next fired it
    # called itself (RecursionError in the program, 2 of 20 runs of tl_counter_prerun).
    def probe() -> tuple[bool, bool]:
        # Armed on the caller's frame, which runs no instruction until this returns (an
        # instruction there would fire the hook and disarm it).
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        pr = s.preempter
        frame = sys._getframe(1)
        before = frame.f_trace
        if not pr.arm(s.m0.curg, frame):
            return True, True  # no hook possible here (a C tracer): nothing to check
        try:
            in_place = pr._hook_in_place()
        finally:
            pr.disarm()
        return in_place, frame.f_trace is before

    def main() -> tuple[bool, bool]:
        return probe()

    assert gort.run(main) == (True, True)


class Pending(Exception):
    pass


@pytest.mark.parametrize("handler", ["except", "finally", "none"])
def test_a_pending_exception_the_hook_raises_never_replaces_one_in_flight(
        handler: str) -> None:
    # sig_stress lost an Alarm in 1 run of 2 under load: the hook fired in a frame an
    # exception was unwinding (the trace function's "exception" event on 3.11) or at its
    # handler's entry (the exception on the stack, not yet in sys.exc_info()), and the
    # Alarm goraise had left for main, raised there, replaced the one in flight.
    def arm_then_raise() -> None:
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        gp = s.m0.curg
        assert gp is not None
        if not s.preempter.arm(gp, sys._getframe(1)):  # the caller's next event: unwinding
            pytest.skip("no hook possible here (a C tracer)")
        rt.goraise(gp, Pending())  # gp runs: raised at its next safe point (the hook)
        raise ValueError("in flight")

    def victim() -> None:
        if handler == "except":
            try:
                arm_then_raise()
            except ValueError:
                pass  # the hook fires here, after the handler's entry: chained
        elif handler == "finally":
            try:
                arm_then_raise()
            finally:
                pass  # the hook fires here: chained, ValueError goes on as its context
        else:
            arm_then_raise()  # unwinds: the hook waits, Pending at a later safe point

    def main() -> tuple[str, ...]:
        try:
            victim()
        except Pending as p:
            return ("Pending", repr(p.__context__))
        except ValueError as e:
            try:
                gort.gosched()  # a safe point: the pending exception is raised
            except Pending as p:
                return ("ValueError", str(e), "then Pending", repr(p.__context__))
            return ("ValueError", str(e), "Pending never raised")
        try:
            gort.gosched()
        except Pending as p:
            return ("Pending at the next safe point", repr(p.__context__))
        return ("nothing raised",)

    got = gort.run(main)
    later = ("ValueError", "in flight", "then Pending", "ValueError('in flight')")
    chained = ("Pending", "ValueError('in flight')")
    if handler == "none":
        assert got == later
    else:
        # The hook raises it where the eval loop checks (adversarial round 10, F2): inside
        # the handler when the first instruction there counts as one after the call that
        # raised (3.11), else at the next safe point (3.13: the handler's prologue runs
        # between): never in place of the exception in flight.
        assert got in ((chained, ("Pending at the next safe point", "None"))
                       if handler == "except" else (chained, later)), got


def test_a_pending_exception_is_never_raised_between_a_with_blocks_error_and_its_exit(
        ) -> None:
    # Adversarial round 10, F2(b): the hook raised an exception goraise had left for main
    # at the with block's exceptional exit, after PUSH_EXC_INFO and before
    # WITH_EXCEPT_START, where CPython never runs a handler: __exit__ never ran, and
    # main's lock stayed held (an RLock re-entered forever). The hook now raises only
    # where the eval loop checks (a RESUME, a back edge, the first instruction after a
    # call).
    lk = threading.Lock()

    def arm_then_raise() -> None:
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        gp = s.m0.curg
        assert gp is not None
        if not s.preempter.arm(gp, sys._getframe(1)):  # the with block's frame
            pytest.skip("no hook possible here (a C tracer)")
        rt.goraise(gp, Pending())
        raise ValueError("in the block")

    def victim() -> None:
        with lk:
            arm_then_raise()

    def main() -> tuple[str, ...]:
        try:
            victim()
        except Pending:
            return ("Pending from the with block", f"locked {lk.locked()}")
        except ValueError as e:
            held = lk.locked()
            try:
                gort.gosched()  # a safe point: the pending exception is raised
            except Pending:
                return ("ValueError", str(e), f"locked {held}", "then Pending")
            return ("ValueError", str(e), f"locked {held}", "Pending never raised")
        return ("nothing raised",)

    assert gort.run(main) == ("ValueError", "in the block", "locked False", "then Pending")


def test_no_hook_is_armed_while_gort_mutes_tracing_for_a_switch() -> None:
    # tl_mkstemp hung 1 run in 100 under load (CI, pure path): the handler ran after a
    # call returned in proc.execute's muted stretch (the tracing counter raised), armed
    # the hook with sys.settrace, which on 3.11 then leaves CPython's per-call tracing
    # flag off: the hook never fired, each later request found it in place, and a
    # spinner ran forever. On 3.11 no hook is armed there (sysmon asks again).
    def runtime_like(s: Any, gp: Any) -> tuple[str, Any]:
        t = s.tcount
        v = t[0]
        t[0] = v + 1
        try:
            return s.preempter.check(gp, sys._getframe())  # type: ignore[no-any-return]
        finally:
            t[0] = v

    def main() -> tuple[str, bool]:
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        pr = s.preempter
        pr.codeclass[runtime_like.__code__] = (rt.preempt._RUNTIME, "runtime")
        try:
            reason, below = runtime_like(s, s.m0.curg)
        finally:
            del pr.codeclass[runtime_like.__code__]
        return reason, below is None

    # (3.12+ hooks with sys.monitoring, which a raised counter does not disturb.)
    want = ("scheduler switch", True) if sys.version_info < (3, 12) else ("runtime", False)
    assert gort.run(main) == want


def test_a_signal_landing_while_a_safe_point_looks_leaves_the_request_to_it() -> None:
    # tracer_calls_gort.py trace under load, 3 runs in 75: SIGURG's handler ran in the
    # middle of sync_deferred's arm, re-entered arm/disarm, and the M's turn-end hooks
    # changed under set_turn_hook: StopIteration out of the program's gort.select.
    def main() -> list[bool]:
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        pr = s.preempter
        gp = s.m0.curg
        assert gp is not None
        looked: list[bool] = []
        orig = pr.check

        def check(g: Any, f: Any, modules: bool = True) -> Any:
            looked.append(pr.checking)
            pr.do_sig_preempt(sys._getframe())  # lands here: must return at once
            return orig(g, f, modules)

        pr.check = check  # type: ignore[method-assign]
        gp.preempt = True
        try:
            pr.sync_deferred(gp)
        finally:
            del pr.check
            gp.preempt = False
        return looked

    # once, and inside the guard (a nested answer would have called check again)
    assert gort.run(main) == [True]


def test_a_request_where_the_goroutine_has_no_frame_of_the_program_is_a_scheduler_switch(
        ) -> None:
    # 3.13 CI, nopreempt_hook.py at 50 us: a request landing in g0_main about to switch
    # into the G it made running, or at gmain's first instruction with the count muted,
    # counted "runtime: no hook" / "tracing callback: no hook" for a module the program
    # never entered. Nothing to hook there; it is the scheduler's switch.
    got: list[tuple[str, Any]] = []

    def runtime_like(s: Any) -> None:
        got.append(s.preempter.check(s.m0.curg, sys._getframe()))

    def main() -> None:
        s = rt.sched.current
        assert s is not None and s.preempter is not None
        pr = s.preempter
        pr.codeclass[runtime_like.__code__] = (rt.preempt._RUNTIME, "runtime")
        try:
            gort.go(runtime_like, s)
            while not got:
                gort.gosched()
        finally:
            del pr.codeclass[runtime_like.__code__]

    gort.run(main)
    assert got == [("scheduler switch", None)]


@pytest.mark.parametrize("how", ["trace", "profile", "monitoring"])
def test_runtime_first_started_inside_a_tracing_callback_preempts(how: str) -> None:
    # Adversarial pass: the start-up probe ran inside the callback, read its raised
    # tracing counter as an unknown layout, and turned asynchronous preemption off for
    # the run with a wrong PreemptionWarning (the setprofile program, plain mode).
    if how == "monitoring" and sys.version_info < (3, 12):
        pytest.skip("sys.monitoring is 3.12+")
    r = run_testprog("start_in_callback.py", how, timeout=60, module=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "OK True\n", "")


@pytest.mark.parametrize("how", ["exec", "eval", "any", "sum", "list", "join"])
def test_a_spin_under_a_builtin_that_holds_nothing_is_preempted(how: str) -> None:
    for env in ({}, FAST):
        r = run_testprog("spin_in_consumer.py", how, env=env, timeout=60)
        assert (r.returncode, r.stdout, r.stderr) == (0, "OK\n", ""), how


@pytest.mark.parametrize("env", [{}, {"GORT_PREEMPT_NS": "50000"}],
                         ids=["default-slice", "50us-slice"])
@pytest.mark.parametrize("mode", ["queue", "logging", "current_thread", "logging-prerun"])
def test_a_loop_inside_a_no_preempt_module_is_switched_out_when_the_call_returns(
        mode: str, env: dict[str, str]) -> None:
    # B4: a request deferred inside gort's lock code or a no-preempt module hooks the
    # caller of the outermost such frame. Before: only counted ('queue', 'runtime'...),
    # the next request had to land outside: ticker median 60-320 ms, stalls of seconds,
    # a queue loop that did not finish in 30 s on 3.13.
    r = run_testprog("nopreempt_hook.py", mode, env=env, timeout=120, module=False)
    assert (r.returncode, r.stdout) == (0, f"{mode} OK\n"), r.stdout + r.stderr[-3000:]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_hook_never_switches_in_the_middle_of_a_statement_without_a_call(seed: int) -> None:
    # 3.13: a request landing inside the hook's own callback (the hook left on a returned
    # frame's code by a profile function's "return" event) armed it again on the frame
    # the callback ran for, which switched out at once, inside `d[k] += 1`: increments
    # were lost in every run. CPython's eval loop never switches threads there.
    r = run_testprog("hook_between.py", str(seed), "2", env={"GORT_PREEMPT_NS": "50000"},
                     timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("lost 0 "), r.stdout + r.stderr[-2000:]


@pytest.mark.parametrize("env", [{}, {"GORT_PREEMPT_NS": "50000"}],
                         ids=["default-slice", "50us-slice"])
@pytest.mark.parametrize("how", ["restore", "off"])
def test_the_program_reads_no_trace_function_of_gorts_while_a_hook_waits(
        how: str, env: dict[str, str]) -> None:
    # 3.11: the hook waiting for a sort's key to return turned tracing on with a global
    # function of gort's, which the key read from sys.gettrace() (every run before); a
    # key turning tracing off left the hook looking armed for good (a hang).
    r = run_testprog("gettrace_hook.py", how, env=env, timeout=60, module=False)
    assert (r.returncode, r.stdout) == (0, "['None'] None True\n"), r.stderr[-3000:]
