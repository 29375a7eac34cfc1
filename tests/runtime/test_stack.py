"""C between a goroutine's frames, tracing callbacks, lock waits: the readings and the rules."""

from __future__ import annotations

import dis
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort.runtime.preempt import C_BETWEEN, TRACING, Preempter, lock_wait_at
from gort.runtime.stack import FrameLayout, Stack

# -- the frame layout, read through ctypes ---------------------------------------------


def _layout() -> FrameLayout:
    st = Stack()
    assert st.error == "", st.error
    assert st.layout is not None
    return st.layout


def test_probe_passes_on_this_interpreter() -> None:
    st = Stack()
    assert st.error == ""
    assert st.tracing.value == 0


def test_plain_call_is_not_entered_from_c() -> None:
    layout = _layout()

    def callee() -> FrameType:
        return sys._getframe()

    assert not layout.c_entered(callee())


@pytest.mark.parametrize("via", ["sorted", "map", "class", "partial"])
def test_call_through_c_is_entered_from_c(via: str) -> None:
    import functools

    layout = _layout()
    seen: list[bool] = []

    def probe(_x: object = None) -> Any:
        seen.append(layout.c_entered(sys._getframe()))
        return None if via == "class" else 0

    if via == "sorted":
        sorted([1, 2], key=probe)
    elif via == "map":
        list(map(probe, [1]))
    elif via == "class":
        type("K", (), {"__init__": probe})()
    else:
        functools.partial(probe, 1)()
    assert seen and all(seen), seen


def test_generator_resumed_by_for_is_exempt_but_not_by_next() -> None:
    layout = _layout()

    def gen() -> Iterator[tuple[bool, bool]]:
        for _ in range(3):
            f = sys._getframe()
            yield layout.c_entered(f), layout.resumed_by_eval_loop(f)

    for entered, exempt in gen():
        assert exempt or not entered  # C-entered only through FOR_ITER (or inlined on 3.12+)
    g = gen()
    entered, exempt = next(g)
    assert entered and not exempt  # builtin next() is C code between


def test_unknown_version_fails_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 99, 0, "final", 0))
    st = Stack()
    assert "not known to gort" in st.error and st.layout is None


def test_tracing_counter_reads_one_inside_a_profile_function() -> None:
    st = Stack()
    seen: list[int] = []
    old = sys.getprofile()
    sys.setprofile(lambda frame, event, arg: seen.append(st.tracing.value))
    try:
        len([])
    finally:
        sys.setprofile(old)
    assert seen and set(seen) == {1}
    assert st.tracing.value == 0


# -- the rule, applied inside a run ----------------------------------------------------


def _preempter() -> Preempter:
    s = rt.running()
    assert s is not None
    p = s.preempter
    assert isinstance(p, Preempter)
    return p


def test_check_finds_c_between_and_hooks_the_frame_below() -> None:
    def main() -> tuple[object, ...]:
        p = _preempter()
        gp = rt.getg()
        out: list[tuple[str, FrameType | None]] = []
        here = sys._getframe()
        sorted([1, 2], key=lambda x: out.append(p.check(gp, sys._getframe())) or x)
        plain = p.check(gp, sys._getframe())
        return out[0][0], out[0][1] is here, plain

    assert gort.run(main) == (C_BETWEEN, True, ("", None))


def test_goroutine_entry_through_c_call_machinery_is_not_c_between() -> None:
    def worker(ch: gort.Chan[str], _a: int, *, k: int = 0) -> None:
        ch.send(_preempter().check(rt.getg(), sys._getframe())[0])

    def main() -> list[str | None]:
        import functools

        ch: gort.Chan[str] = gort.Chan()
        gort.go(worker, ch, 1)  # fn(*args)
        gort.go(worker, ch, 1, k=2)  # fn(*args, **kwargs)
        gort.go(functools.partial(worker, ch, 1))
        return [ch.recv() for _ in range(3)]

    assert gort.run(main) == ["", "", ""]


def test_check_inside_a_profile_function_says_tracing() -> None:
    def main() -> list[str]:
        p = _preempter()
        gp = rt.getg()
        seen: list[str] = []

        def prof(frame: FrameType, event: str, arg: object) -> None:
            if not seen:
                seen.append(p.check(gp, sys._getframe())[0])

        sys.setprofile(prof)
        try:
            len([])
        finally:
            sys.setprofile(None)
        return seen

    assert gort.run(main) == [TRACING]


@pytest.mark.parametrize("call", ["recv", "sleep0"])
def test_blocking_inside_a_profile_function_raises_and_names_the_context(call: str) -> None:
    def main() -> list[str]:
        errors: list[str] = []
        ch: gort.Chan[int] = gort.Chan(1)

        def prof(frame: FrameType, event: str, arg: object) -> None:
            if event == "c_call" and not errors:
                try:
                    if call == "recv":
                        ch.recv()  # empty: would park
                    else:
                        gort.sleep(0)  # a yield is a switch too
                except RuntimeError as e:
                    errors.append(str(e))

        sys.setprofile(prof)
        try:
            len([])
        finally:
            sys.setprofile(None)
        gort.sleep(0.001)  # outside the callback the goroutine parks as usual
        return errors

    got = gort.run(main)
    assert len(got) == 1 and "inside a profile, trace or sys.monitoring callback" in got[0]
    assert ("chan receive" if call == "recv" else "gosched") in got[0]


def test_sync_preemption_waits_for_the_callback_to_return(monkeypatch: pytest.MonkeyPatch) -> None:
    """A marked G's gort call inside sorted's key does not switch; the next one outside does."""
    # No asynchronous request meanwhile: one that lands in a gort call here (ch.send,
    # gort.go) arms the hook below it, and the synchronous deferral is then not counted.
    monkeypatch.setenv("GORT_PREEMPT_NS", str(10**12))

    def main() -> tuple[list[str], int, int]:
        s = rt.running()
        assert s is not None
        order: list[str] = []
        ch: gort.Chan[int] = gort.Chan(10)

        def other() -> None:
            order.append("other")

        def key(x: int) -> int:
            rt.getg().preempt = True
            ch.send(x)  # a synchronous safe point, inside a C callback
            order.append(f"key{x}")
            return x

        gort.go(other)
        before = s.stats.preempt_sync + s.stats.preempt_async
        sorted([1, 2], key=key)
        deferred = sum(v for k, v in s.stats.preempt_deferred.items() if k.startswith("sync: C"))
        # Outside: the hook armed below sorted switches at the next instruction (or, had
        # none been armed, this gort call would).
        ch.send(3)
        return order, deferred, s.stats.preempt_sync + s.stats.preempt_async - before

    order, deferred, synced = gort.run(main)
    assert order[:2] == ["key1", "key2"] and order[2:] == ["other"]
    # counted once: the hook armed below sorted then answers for the second send too
    assert deferred == 1 and synced == 1


# -- lock waits, read from another thread's innermost frame ----------------------------


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()


@pytest.mark.parametrize("how", ["with", "acquire", "attr-acquire-timeout", "release"])
def test_lock_wait_at_recognises_lock_acquires(how: str) -> None:
    h = _Holder()
    h.lock.acquire()
    other = threading.Lock()
    started = threading.Event()

    def waiter() -> None:
        started.set()
        if how == "with":
            with h.lock:
                pass
        elif how == "acquire":
            lk = h.lock
            lk.acquire()
            lk.release()
        elif how == "attr-acquire-timeout":
            if h.lock.acquire(timeout=5):
                h.lock.release()
        else:
            other.release if False else wake.wait(60)  # a call not named acquire

    # the line of the else branch's wake.wait call
    wait_line = next(i.positions.lineno for i in dis.get_instructions(waiter)
                     if i.argval == "wait" and i.positions is not None)
    wake = threading.Event()
    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    want = how != "release"
    try:
        # Until the waiter is in its call (under load it may not be after 0.1 s; a fixed
        # sleep of 0.3 s could be over by then): the answer settles there and stays.
        deadline = time.monotonic() + 30
        while True:
            time.sleep(0.1)
            frame = sys._current_frames()[t.ident]  # type: ignore[index]
            if how == "release":
                while frame is not None and frame.f_code is not waiter.__code__:
                    frame = frame.f_back
                assert frame is not None
            # (release: at its wait's line, which has nothing to run but the call)
            settled = lock_wait_at(frame) if want else frame.f_lineno == wait_line
            if settled or time.monotonic() > deadline:
                break
        time.sleep(0.1)
        assert lock_wait_at(frame) is want
    finally:
        wake.set()
        h.lock.release()
        t.join()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_sys_monitoring_callback_is_a_tracing_callback() -> None:
    mon: Any = getattr(sys, "monitoring")  # noqa: B009 (mypy checks this file as 3.11)

    def main() -> list[str]:
        p = _preempter()
        gp = rt.getg()
        seen: list[str] = []
        tool = 2  # a profiler's id; gort uses 3 or 4

        def target() -> None:
            pass

        def on_start(code: Any, offset: int) -> None:
            if code is target.__code__ and not seen:
                seen.append(p.check(gp, sys._getframe())[0])
                try:
                    gort.sleep(0.001)
                except RuntimeError as e:
                    seen.append("refused" if "sys.monitoring" in str(e) else str(e))

        mon.use_tool_id(tool, "gort-test")
        try:
            mon.register_callback(tool, mon.events.PY_START, on_start)
            mon.set_events(tool, mon.events.PY_START)
            target()
        finally:
            mon.set_events(tool, 0)
            mon.register_callback(tool, mon.events.PY_START, None)
            mon.free_tool_id(tool)
        return seen

    assert gort.run(main) == [TRACING, "refused"]
