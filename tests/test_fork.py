"""os.fork() and multiprocessing (fork) from gort programs (runtime/fork.py).

Each program runs under `gort run` and as plain python; a child without a
working runtime hangs, which the timeout turns into a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, TESTPROG, run_testprog

MODES = [pytest.param(True, id="gort-run"), pytest.param(False, id="plain-python")]


def _trace_names(path: Path) -> set[str]:
    data = json.loads(path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    return {e["name"].split(" ")[0] for e in events if e.get("ph") == "X"}


@pytest.mark.parametrize("module", MODES)
@pytest.mark.parametrize("where", ["main", "goroutine"])
def test_child_has_only_the_forking_goroutine_and_a_working_runtime(
        module: bool, where: str, tmp_path: Path) -> None:
    child_trace = tmp_path / "child.json"
    r = run_testprog("fork_child.py", where, str(child_trace), module=module, timeout=30)
    assert r.returncode == 0, r.stderr
    # The child's run ends when its forking goroutine ends (status 0); nothing of the
    # parent's other goroutines runs there.
    assert r.stdout == "child OK\nparent OK 0\n", r.stdout + r.stderr
    assert r.stderr == ""
    # The child traced its own goroutines: the forking one and the spinner it started.
    names = _trace_names(child_trace)
    assert "offload" in names and len([n for n in names if n.startswith("G")]) == 2, names


def test_parent_trace_is_not_overwritten_by_the_child(tmp_path: Path) -> None:
    parent, child = tmp_path / "parent.json", tmp_path / "child.json"
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--trace", str(parent),
                        str(TESTPROG / "fork_child.py"), "main", str(child)],
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "G2" in _trace_names(parent)  # the parent's spinner, abandoned in the child
    assert "G2" not in _trace_names(child)


@pytest.mark.parametrize("module", MODES)
@pytest.mark.parametrize("per_child", ["0", "1"])
def test_multiprocessing_fork_pool_from_a_goroutine(module: bool, per_child: str) -> None:
    r = run_testprog("fork_pool.py", per_child, module=module, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n"


@pytest.mark.parametrize("module", MODES)
def test_fork_from_an_offload_worker_leaves_no_runtime_in_the_child(module: bool) -> None:
    r = run_testprog("fork_offload.py", module=module, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "child 1\nparent 0\n"


def test_child_of_a_run_with_a_finalizer_goroutine_counts_right_and_makes_its_own() -> None:
    """The finalizer goroutine is a system one: not counted when abandoned, and restarted."""
    r = run_testprog("fork_finq.py", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["before", "True", "child", "1", "True", "parent", "0"], \
        r.stdout + r.stderr


@pytest.mark.parametrize("module", MODES)
@pytest.mark.parametrize("when", ["parked", "inline"])
def test_fork_in_a_signal_handler_child_goes_on_in_main(module: bool, when: str) -> None:
    # "parked": the handler runs in gort's handler goroutine; the child once ended there
    # (that goroutine was its only one) and main's code never ran in it.
    r = run_testprog("fork_handler.py", when, module=module, timeout=30)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "child 42\nparent 0\n"


def test_fork_in_a_handler_run_on_a_workers_stack_keeps_main_in_the_child() -> None:
    r = run_testprog("fork_handler_worker.py", timeout=60, module=False)
    assert (r.returncode, r.stdout) == (0, "child 7\n"), (r.stdout, r.stderr)


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain"])
def test_fork_from_a_thread_without_goroutines_is_prompt_in_the_child(module: bool) -> None:
    # Adversarial pass (issue 9): the child of a fork from an offload worker (or
    # multiprocessing's handler thread) tore the runtime down and waited 5 s for a sysmon
    # thread it does not have: Pool(maxtasksperchild=1).map of 3 items took 10 s.
    r = run_testprog("fork_from_thread.py", timeout=60, module=module)
    assert (r.returncode, r.stdout) == (0, "child status 0\n"), r.stderr


@pytest.mark.parametrize("module", MODES)
def test_a_child_forked_from_a_goroutine_hands_values_over_through_the_core(
        module: bool) -> None:
    # The C core keeps the M's thread state for its thread check; a forked child
    # forgets it (pthread_atfork): there the parent's other threads' states are freed
    # and a new one may take an address.
    r = run_testprog("fork_chan.py", module=module, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("child True "), r.stdout + r.stderr
    assert lines[1] == "parent True 0", r.stdout + r.stderr
