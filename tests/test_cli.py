"""`gort run` as a whole program: exit status and stderr (Go: crash_test.go + testprog)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT, run_testprog


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
