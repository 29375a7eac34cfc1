"""`gort run` as a whole program: exit status and stderr (Go: crash_test.go + testprog)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT, TESTPROG, run_testprog


def test_clean_exit_and_argv() -> None:
    r = run_testprog("argv.py", "a", "b c")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argv ['argv.py', 'a', 'b c']\nmain 1\n"


def test_panic_in_goroutine_exits_2_with_go_style_report() -> None:
    r = run_testprog("goroutine_panic.py")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "panic: ValueError: bad value 7"
    assert lines[2] == "goroutine 2 [running]:"
    assert "Traceback (most recent call last):" in r.stderr
    assert "goroutine_panic.py" in r.stderr and "in worker" in r.stderr
    assert r.stdout == "before\n"


def test_deadlock_exits_2_with_go_message_and_goroutines() -> None:
    r = run_testprog("deadlock.py")
    assert r.returncode == 2
    assert r.stderr.startswith("fatal error: all goroutines are asleep - deadlock!\n\n")
    assert "goroutine 1 [chan receive]:" in r.stderr
    assert "goroutine 2 [sync.WaitGroup.Wait]:" in r.stderr
    assert "deadlock.py:" in r.stderr


def test_sys_exit_in_goroutine_sets_status() -> None:
    r = run_testprog("exit3.py")
    assert r.returncode == 3 and r.stderr == ""


def test_missing_prog_is_a_one_line_error() -> None:
    r = run_testprog("/nonexistent/prog.py")
    assert r.returncode == 2
    assert r.stderr == "gort: cannot run /nonexistent/prog.py: No such file or directory\n"


def test_help_explains_itself() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "--help"], capture_output=True,
                       text=True, timeout=20, cwd=ROOT)
    assert r.returncode == 0 and "run" in r.stdout and "GODEBUG" in r.stdout
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--help"], capture_output=True,
                       text=True, timeout=20, cwd=ROOT)
    assert r.returncode == 0 and "Exit status" in r.stdout
    r = subprocess.run([sys.executable, "-m", "gort"], capture_output=True, text=True,
                       timeout=20, cwd=ROOT)
    assert r.returncode == 2 and "usage" in r.stderr


def test_bad_godebug_value_is_a_clear_error() -> None:
    r = run_testprog("argv.py", env={"GODEBUG": "asyncpreemptoff=maybe"})
    assert r.returncode == 2
    assert "GODEBUG: asyncpreemptoff='maybe' is not a non-negative integer" in r.stderr


def test_program_written_with_gort_run_main_works_under_every_runner(tmp_path) -> None:
    """Issue 10: `def main` + gort.run(main) under gort run, --trace and python -m gort run."""
    want = "nested: True\nresult 42 caller\n"
    assert run_testprog("run_main.py", module=False).stdout == want
    r = run_testprog("run_main.py")  # python -m gort run
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    trace = tmp_path / "t.json"
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--trace", str(trace),
                        str(TESTPROG / "run_main.py")], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    assert trace.stat().st_size > 0


def test_panic_in_hosted_main_is_the_programs_panic() -> None:
    r = run_testprog("run_main.py", "--panic")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "panic: ValueError: from main"
    assert "goroutine 1 [running]:" in r.stderr


def test_run_dash_m_runs_a_module_as_main() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "run", "-m", "runpkg.mod", "x", "y"],
                       capture_output=True, text=True, timeout=30, cwd=TESTPROG)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "(1, '__main__', ['x', 'y'])\n"
    r = subprocess.run([sys.executable, "-m", "gort", "run", "-m", "no_such_module_zz"],
                       capture_output=True, text=True, timeout=30, cwd=TESTPROG)
    assert r.returncode == 2
    assert r.stderr == "gort: cannot run -m no_such_module_zz: no module named " \
                       "'no_such_module_zz'\n"


def test_run_without_a_program_says_one_is_required() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "run"], capture_output=True, text=True,
                       timeout=20, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr == "gort: run: a program is required: gort run PROG.py [ARGS...] or " \
                       "gort run -m MODULE [ARGS...]\n"
