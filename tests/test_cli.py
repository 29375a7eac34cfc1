"""`gort run` as a whole program: exit status and stderr (Go: crash_test.go + testprog)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT, TESTPROG, run_testprog


def test_clean_exit_and_argv() -> None:
    r = run_testprog("argv.py", "a", "b c")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argv ['argv.py', 'a', 'b c']\nmain 1\n"


def test_panic_in_goroutine_exits_2_with_go_style_report() -> None:
    r = run_testprog("goroutine_panic.py")
    assert r.returncode == 2
    # What Go prints: the panic, the goroutine's user frames, the exit status; no Python
    # traceback through gort's own files (that is GOTRACEBACK=system's).
    assert r.stderr.splitlines() == [
        "panic: ValueError: bad value 7",
        "",
        "goroutine 2 [running]:",
        "__main__.worker(...)",
        f"\t{TESTPROG / 'goroutine_panic.py'}:5",
        "created by __main__.<module> in goroutine 1",
        f"\t{TESTPROG / 'goroutine_panic.py'}:9",
        "exit status 2",
    ]
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


@pytest.mark.parametrize("argv", [
    ["-m", "runpkg.mod", "--bind", "127.0.0.1", "-h"],
    ["--net", "-m", "runpkg.mod", "--bind", "127.0.0.1", "-h"],
    ["-mrunpkg.mod", "--bind", "127.0.0.1", "-h"],
    ["-m", "runpkg.mod", "--", "--x"],
])
def test_run_dash_m_leaves_every_argument_after_the_module_to_it(argv: list[str]) -> None:
    # As python -m MODULE ARGS: gort's parser took --bind (an error) or -h (gort's help).
    r = subprocess.run([sys.executable, "-m", "gort", "run", *argv], capture_output=True,
                       text=True, timeout=30, cwd=TESTPROG)
    want = argv[argv.index("runpkg.mod") + 1:] if "runpkg.mod" in argv else argv[1:]
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == f"(1, '__main__', {want!r})\n"


def test_run_without_a_program_says_one_is_required() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "run"], capture_output=True, text=True,
                       timeout=20, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr == "gort: run: a program is required: gort run PROG.py [ARGS...] or " \
                       "gort run -m MODULE [ARGS...]\n"


def test_gotraceback_levels() -> None:
    prog = "goroutine_panic.py"
    none = run_testprog(prog, env={"GOTRACEBACK": "none"})
    assert (none.returncode, none.stderr) == (2, "panic: ValueError: bad value 7\n"
                                                "exit status 2\n")
    assert run_testprog(prog, env={"GOTRACEBACK": "0"}).stderr == none.stderr
    single = run_testprog(prog, env={"GOTRACEBACK": "single"})
    assert single.stderr == run_testprog(prog).stderr == \
        run_testprog(prog, env={"GOTRACEBACK": "1"}).stderr
    assert "goroutine 1 [" not in single.stderr
    every = run_testprog(prog, env={"GOTRACEBACK": "all"})
    assert "goroutine 2 [running]:" in every.stderr and "goroutine 1 [sleep]:" in every.stderr
    assert "Traceback" not in every.stderr and "rt0.py" not in every.stderr
    system = run_testprog(prog, env={"GOTRACEBACK": "system"})
    assert "goroutine 1 [sleep]:" in system.stderr
    assert "Traceback (most recent call last):" in system.stderr
    assert "proc.py" in system.stderr  # gort's own frames
    assert system.stderr.endswith("exit status 2\n") and system.returncode == 2
    crash = run_testprog(prog, env={"GOTRACEBACK": "crash"})
    assert crash.returncode == -6  # SIGABRT, as Go's crash
    assert "Traceback (most recent call last):" in crash.stderr


def test_bad_gotraceback_is_a_clear_error() -> None:
    r = run_testprog("argv.py", env={"GOTRACEBACK": "loud"})
    assert r.returncode == 2
    assert "GOTRACEBACK='loud' is not a traceback level; use none, single" in r.stderr


def test_recursion_error_panic_prints_repeated_frames_once() -> None:
    r = run_testprog("recursion_panic.py")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "panic: RecursionError: maximum recursion depth exceeded"
    assert sum(1 for ln in lines if ln == "__main__.down(...)") == 3
    assert any(ln.startswith("...frame repeated ") for ln in lines)
    assert len(lines) < 30


def test_exception_raised_while_handling_another_prints_both_as_go_does() -> None:
    r = run_testprog("chained_panic.py")
    assert r.returncode == 2
    assert r.stderr.splitlines()[:2] == ["panic: KeyError: 'k' [recovered]",
                                         "\tpanic: ValueError: lookup failed"]


def test_deadlock_report_ends_with_exit_status() -> None:
    r = run_testprog("deadlock.py")
    assert r.stderr.endswith("exit status 2\n")
    r = run_testprog("deadlock.py", env={"GOTRACEBACK": "none"})
    assert r.stderr == "fatal error: all goroutines are asleep - deadlock!\nexit status 2\n"


def test_version_and_trace_help() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "--version"], capture_output=True,
                       text=True, timeout=20, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.startswith("gort 0.")
    r = subprocess.run([sys.executable, "-m", "gort", "trace", "--help"], capture_output=True,
                       text=True, timeout=20, cwd=ROOT)
    assert r.returncode == 0 and "TRACE.json" in r.stdout and "OUT.json" not in r.stdout


def test_hosted_main_is_preempted_under_gort_run() -> None:
    """main called by gort.run inside `gort run` is user code: its spin is preempted."""
    r = run_testprog("hosted_spin.py", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fired True"), r.stdout


def test_bad_settings_under_gort_run_are_one_line_errors_not_panics() -> None:
    for env, text in [({"GORT_SEED": "abc"}, "GORT_SEED='abc' is not a non-negative"),
                      ({"GOMAXPROCS": "abc"}, "GOMAXPROCS='abc' is not a positive integer"),
                      ({"GOTRACEBACK": "bogus"}, "GOTRACEBACK='bogus' is not a traceback")]:
        r = run_testprog("argv.py", env=env)
        assert r.returncode == 2
        assert r.stderr.startswith("gort: ") and text in r.stderr and "panic" not in r.stderr


def test_trace_to_an_unwritable_place_fails_before_the_program_runs() -> None:
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--trace", "/nonexistent/d/t.json",
                        str(TESTPROG / "argv.py")], capture_output=True, text=True, timeout=30,
                       cwd=ROOT)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("gort: --trace /nonexistent/d/t.json: cannot write there")
