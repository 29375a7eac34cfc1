"""asyncio's running loop per goroutine (runtime/aio.py) and the M's turn-end hooks."""

from __future__ import annotations

import asyncio
import sys

import pytest

import gort
from gort.runtime import aio
from gort.runtime.m import M, set_turn_hook

from ..conftest import run_testprog

SLICES = [{}, {"GORT_PREEMPT_NS": "50000"}]
# (argv, via `gort run`): asyncio imported after gort under `gort run` (patched by the
# import hook), and before it under plain python (patched at import gort).
MODES = [((), True), (("early",), False)]

AFTER = ["after run: loop False hooks (None, None)", "after run: asyncio.run ok", "done"]
EXPECTED = {
    "interleave": ["result 0 20", "result 1 20", "result 2 20", "errors 0",
                   "watcher saw a loop 0 looked True", "main sees loop False"],
    "parked": ["finished ['a', 'b']", "b get_running_loop: RuntimeError",
               "b _get_running_loop: None", "b asyncgen hooks: (None, None)",
               "b agen: 1 b run: 7", "a own loop again: True own hooks: True",
               "a loop's async generators: 0", "main sees loop False"],
    "nested": ["child: child loop ok", "parent still own loop: True",
               "main sees loop False"],
    "abandon": ["main sees loop False"],
    "manual": ["next goroutine sees loop False", "main sees loop False"],
}


@pytest.mark.parametrize("env", SLICES, ids=["default", "50us"])
@pytest.mark.parametrize("mode", MODES, ids=["gort-run-late", "python-early"])
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_loop_per_goroutine(case: str, mode: tuple[tuple[str, ...], bool],
                            env: dict[str, str]) -> None:
    args, module = mode
    r = run_testprog("asyncio_per_g.py", case, *args, env=env, timeout=60, module=module)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == EXPECTED[case] + AFTER, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_setter_patched() -> None:
    # asyncio was imported (by this module) after gort's import hook or before the patch:
    # either way the module's and the package's setter are aio's.
    assert asyncio.events._set_running_loop is aio.set_running_loop
    assert asyncio._set_running_loop is aio.set_running_loop  # type: ignore[attr-defined]
    assert aio._orig_set is not None and aio._orig_set is not aio.set_running_loop


def test_outside_run_is_the_threads() -> None:
    loop = asyncio.new_event_loop()
    try:
        asyncio.events._set_running_loop(loop)
        assert asyncio.get_running_loop() is loop
    finally:
        asyncio.events._set_running_loop(None)
        loop.close()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_owner_state_dropped_after_loop() -> None:
    states: list[object] = []

    def main() -> None:
        g = gort.runtime.getg()

        async def co() -> None:
            states.append(g.aio)
            gort.sleep(0.001)  # a turn ends inside the loop: the owner keeps its state
            states.append(g.aio)

        asyncio.run(co())
        gort.sleep(0.001)  # the first turn end with no loop drops it
        states.append(g.aio)
        states.append(sys.get_asyncgen_hooks().firstiter)

    gort.run(main)
    assert isinstance(states[0], aio.LoopState) and states[1] is states[0]
    assert states[2:] == [None, None]


def test_turn_hooks_compose() -> None:
    mp = M(0)
    calls: list[str] = []

    def hook(name: str) -> None:
        calls.append(name)
        set_turn_hook(mp, name, None)  # each removes itself

    set_turn_hook(mp, "a", lambda: hook("a"))
    assert mp.armed is not None
    set_turn_hook(mp, "b", lambda: hook("b"))
    mp.armed()
    assert calls == ["a", "b"] and mp.armed is None and mp.turnend == {}
    set_turn_hook(mp, "a", lambda: hook("a"))
    set_turn_hook(mp, "a", None)
    assert mp.armed is None
