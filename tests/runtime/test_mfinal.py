"""Finalizers run in the finalizer goroutine (mfinal.py), never inside the runtime.

While a run lasts, automatic collection is the runtime's: it collects in a
system goroutine when CPython's thresholds say so, so a ``__del__`` may call
gort (even block). The runtime drops user references only where the dropping
goroutine is current and the state consistent.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from typing import Any

import pytest

import gort
import gort.runtime as rt

from ..conftest import run_testprog, settle


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_del_sleeping_on_3000_cycles_neither_hangs_nor_skips_one(module: bool) -> None:
    try:
        r = run_testprog("fin_sleep.py", timeout=60, module=module)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fin_sleep.py hung (finalizers that call gort.sleep(0))\n{e}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ran=3000 enabled_during=False" in r.stdout, r.stdout + r.stderr[-3000:]
    assert "Exception ignored" not in r.stderr, r.stderr[-3000:]


@pytest.mark.parametrize("threshold", ["700", "10", "1"])
@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_pool_tokens_returned_by_del_are_never_lost(threshold: str, module: bool) -> None:
    # A 50 us slice keeps sysmon busy (allocating on its thread); a low threshold makes
    # collections come due often, which before the finalizer goroutine meant on sysmon's
    # thread too ("called from thread 'gort-sysmon'", tokens lost).
    try:
        r = run_testprog("fin_pool.py", threshold, env={"GORT_PREEMPT_NS": "50000"},
                         timeout=60, module=module)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fin_pool.py hung\n{e}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.splitlines()[0] == "pool=40 lost=0 errors=0 threads=['MainThread']", \
        r.stdout + r.stderr[-3000:]


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_non_blocking_calls_from_finalizers_at_interpreter_exit_are_silent(module: bool) -> None:
    # Pooled objects alive until exit: their __del__ runs at interpreter finalization,
    # after the runtime ended. Before: "Exception ignored ... the interpreter is shutting
    # down" for every send. Now the channel alone completes what it can (no goroutine
    # is left: the abandoned receiver of the unbuffered channel never takes a value).
    r = run_testprog("fin_exit.py", timeout=60, module=module)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr == "", r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "main done", r.stdout
    assert sorted(lines[1:]) == [  # the finalizers' order is the interpreter's
        "conn pool=default unbuffered=default",
        "conn pool=sent unbuffered=default",
        "conn pool=sent unbuffered=default",
        "last recv=0,(7, True) stop=True stop_again=False try_lock=True "
        "closed_recv=0,(None, False)",
    ], r.stdout


def test_blocking_call_from_a_finalizer_at_interpreter_exit_names_the_limit(
        tmp_path: Any) -> None:
    prog = tmp_path / "fin_block.py"
    prog.write_text(
        "import gort\n"
        "ch = gort.Chan(1)\n"
        "class C:\n"
        "    def __del__(self):\n"
        "        ch.send(1)\n"
        "c = C()\n"
        "gort.sleep(0)\n")
    r = run_testprog(str(prog), timeout=60, module=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "gort.runtime.error.Finalizing: gort: the interpreter is shutting down" \
        in r.stderr, r.stderr[-3000:]
    assert "select with gort.default, close" in r.stderr, r.stderr[-3000:]


def test_stress_fin_sends_under_50us_slice_lose_nothing() -> None:
    # Short here; GORT_STRESS_S=20 GORT_SEED=n for the long, replayable run.
    seconds = float(os.environ.get("GORT_STRESS_S", "1.5"))
    seed = os.environ.get("GORT_SEED", "1234")
    try:
        r = run_testprog("fin_stress.py", "--seconds", str(seconds), "--seed", seed,
                         env={"GORT_PREEMPT_NS": "50000"}, timeout=60 + 5 * seconds)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fin_stress.py hung (replay: --seed {seed})\n{e}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "OK" in r.stdout, r.stdout + r.stderr[-3000:]


def test_automatic_collection_is_off_during_a_run_and_restored() -> None:
    assert gc.isenabled()
    seen: list[bool] = []
    gort.run(lambda: seen.append(gc.isenabled()))
    assert seen == [False]
    assert gc.isenabled()


def test_a_run_started_with_collection_off_leaves_it_off_and_never_collects() -> None:
    gc.disable()
    try:
        def main() -> None:
            for _ in range(5000):
                x: list[Any] = []
                x.append(x)
            gort.sleep(0.001)
            s = rt.running()
            assert s is not None
            assert s.finq.g is None  # never needed
            assert s.finq.collections == [0, 0, 0]

        gort.run(main)
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Counted:
    """Calls gort from __del__: it needs to run in a goroutine with the runtime consistent."""

    ran: list[int] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        gort.sleep(0)
        _Counted.ran.append(gort.current_id())


def test_cyclic_finalizers_run_in_a_system_goroutine_hidden_from_counts_and_dumps() -> None:
    _Counted.ran = []

    def main() -> None:
        before = gort.num_goroutine()
        for _ in range(2000):
            _Counted()
        for _ in range(100):
            if len(_Counted.ran) == 2000:
                break
            for _ in range(1000):
                x: list[Any] = []
                x.append(x)
            gort.sleep(0.001)
        assert len(_Counted.ran) == 2000
        s = rt.running()
        assert s is not None
        fing = s.finq.g
        assert fing is not None and fing.system
        assert set(_Counted.ran) == {fing.goid}
        assert gort.num_goroutine() == before == 1
        assert f"goroutine {fing.goid} " not in gort.stack()
        assert sum(s.finq.collections) >= 1  # generation 1 or 2 if their counts were due

    gort.run(main)


class _SleepsOnDel:
    ran = 0

    def __del__(self) -> None:
        gort.sleep(0)
        _SleepsOnDel.ran += 1


def test_goroutine_args_dropped_at_exit_may_call_gort_from_del() -> None:
    # The last reference to each argument is the goroutine's: dropped at exit, while
    # the goroutine is still RUNNING and current, so __del__ may even yield.
    _SleepsOnDel.ran = 0

    def main() -> None:
        done: gort.Chan[None] = gort.Chan(200)
        for _ in range(200):
            gort.go(lambda _obj, c: c.send(None), _SleepsOnDel(), done)
        for _ in range(200):
            done.recv()
        settle()
        assert _SleepsOnDel.ran == 200

    gort.run(main)


def test_a_received_value_dropped_before_the_next_park_may_call_gort_from_del() -> None:
    # The parked G's sudog held the value after the receive; the next park overwrote
    # it and ran __del__ in the middle of gopark (status already WAITING).
    _SleepsOnDel.ran = 0

    def main() -> None:
        ch: gort.Chan[Any] = gort.Chan()
        out: gort.Chan[int] = gort.Chan()

        def receiver() -> None:
            for _ in range(100):
                v = ch.recv()
                del v
            out.send(_SleepsOnDel.ran)

        gort.go(receiver)
        for _ in range(100):
            ch.send(_SleepsOnDel())
        assert out.recv() == 100

    gort.run(main)


def test_select_send_value_kept_by_the_waiting_select_is_dropped_in_its_goroutine() -> None:
    _SleepsOnDel.ran = 0

    def main() -> None:
        a: gort.Chan[Any] = gort.Chan()
        b: gort.Chan[int] = gort.Chan()

        def chooser() -> None:
            for i in range(50):
                gort.select((a.send, _SleepsOnDel()), (b.send, i))  # b wins, a's value dropped
            gort.sleep(0.001)

        gort.go(chooser)
        got = [b.recv() for _ in range(50)]
        assert got == list(range(50))
        gort.sleep(0.01)
        assert _SleepsOnDel.ran == 50

    gort.run(main)


def test_generation_selection_follows_cpython_thresholds() -> None:
    def main() -> None:
        s = rt.running()
        assert s is not None
        fq = s.finq
        t0 = gc.get_threshold()[0]
        for i in range(t0 * 25):
            x: list[Any] = []
            x.append(x)
            if i % 200 == 0:
                gort.sleep(0)
        settle()
        # about one generation-0 collection per threshold, a generation-1 one every 10
        assert fq.collections[0] >= 15, fq.collections
        assert fq.collections[1] >= 1, fq.collections
        assert fq.collections[2] == 0, fq.collections  # garbage only: nothing promoted
        # Objects that survive: once the promoted ones are a quarter of generation 2's
        # estimated size, a full collection runs (CPython's long_lived_pending rule).
        # Enough for generation 2's count to pass its threshold too (t0 * t1 * t2
        # survivors), and for the promoted objects to pass a quarter of its size.
        t0, t1, t2 = gc.get_threshold()
        keep = []
        for i in range(max(sys.getallocatedblocks() // 3 // 4 * 3, t0 * (t1 + 1) * (t2 + 2))):
            keep.append([i])
            if i % 200 == 0:
                gort.sleep(0)
        settle()
        assert fq.collections[2] >= 1, fq.collections

    gort.run(main)



class _Blocks:
    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        gort.Chan[int]().recv()  # parks the finalizer goroutine inside gc.collect forever


def test_a_run_ending_while_a_finalizer_blocks_leaves_the_collector_usable() -> None:
    def main() -> None:
        for _ in range(3):
            _Blocks()
        for _ in range(gc.get_threshold()[0] * 3):
            x: list[Any] = []
            x.append(x)
        gort.sleep(0.01)
        s = rt.running()
        assert s is not None and s.finq.g is not None
        assert s.finq.g.waitreason is rt.WaitReason.CHAN_RECEIVE

    unraisable: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        gort.run(main)
    finally:
        sys.unraisablehook = old
    # The release unwound the blocked finalizer (quietly: no GreenletExit reported); the
    # collection it was in finished, its two other finalizers' blocking calls raising.
    assert [type(u.exc_value) for u in unraisable] == [rt.Finalizing] * 2
    assert gc.isenabled()
    x: list[Any] = []
    x.append(x)
    del x
    assert gc.collect() >= 1


def test_system_goroutines_do_not_take_the_programs_goroutine_numbers() -> None:
    # The finalizer goroutine is made when a collection first comes due, which depends on
    # timing (sysmon allocates too): it once took goroutine 2 in some runs, so the
    # program's first goroutine was 2 in one run and 3 in the next.
    from gort.runtime.g import SYSTEM_GOID_BASE

    def main() -> tuple[list[int], int]:
        s = rt.running()
        assert s is not None and s.finq is not None
        # A collection comes due (kept alive: a deallocation lowers CPython's count).
        junk = [[] for _ in range(2 * s.gctrigger + 100)]
        for _ in range(100):
            if s.finq.g is not None:
                break
            gort.sleep(0.001)  # a scheduling round on the slow path looks
        assert s.finq.g is not None, "the finalizer goroutine was never made"
        del junk
        ids: list[int] = []
        gort.go(lambda: ids.append(gort.current_id()))
        settle()
        return ids, s.finq.g.goid

    ids, finq_id = gort.run(main)
    assert ids == [2]
    assert finq_id == SYSTEM_GOID_BASE + 1


def test_run_ending_with_a_blocked_finalizer_runs_none_of_its_handlers() -> None:
    # The finalizer goroutine parked in a __del__ when the run ended: its handlers never
    # run, its release reports nothing, the rest of its collection finishes at gort.run's
    # return (non-blocking operations work there, blocking ones raise Finalizing), and the
    # collector works afterwards. Before: the GreenletExit was reported, the finally ran,
    # and the next finalizer's gort calls all raised RuntimeError.
    r = run_testprog("fin_blocked_end.py", timeout=60, module=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "after run: ['del', 'del', 'pooled', 'blocking send: Finalizing', 'del', 'pooled', "
        "'blocking send: Finalizing'] pooled 2",
        "collector works: True"]
    assert r.stderr == ""


@pytest.mark.parametrize("slice_ns", ["10000000", "50000"], ids=["default", "50us"])
def test_a_finalizer_waiting_for_a_lock_made_before_gort_is_switched_out(
        slice_ns: str) -> None:
    """A __del__ a collection runs waits for a plain Lock made before gort while the
    workers holding it are preempted: the finalizer goroutine is switched out inside its
    wait, as a parking finalizer is (it blocked the thread: a hang, adversarial round
    12, finding 4). Three runs: it hung in about 1 run in 2."""
    for _ in range(3):
        r = run_testprog("fin_raw_lock.py", env={"GORT_PREEMPT_NS": slice_ns},
                         module=False, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("n 6000 fin "), r.stdout
        assert r.stderr == ""
