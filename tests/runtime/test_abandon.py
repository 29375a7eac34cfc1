"""Abandoned goroutines (runtime/abandon.py): never resumed, released without running their code.

Whole programs (exit status, the time to exit, RSS over many runs) are in
test_exit.py; these run gort.run in the test's own process.
"""

from __future__ import annotations

import contextlib
import dis
import gc
import subprocess
import threading
import time
import weakref
from types import CodeType
from typing import Any

import pytest
from greenlet import getcurrent

import gort
import gort.runtime as rt
import gort.sync
from gort.runtime import abandon, symtab


def run_then_reap(main: Any) -> tuple[Any, int]:
    """gort.run(main), then a second run, whose start reaps the first's abandoned
    goroutines, and a collection: main's result and how many goroutines abandon keeps
    now that it did not keep before."""
    kept = abandon.kept()
    result = gort.run(main)
    gort.run(lambda: None)
    gc.collect()
    return result, abandon.kept() - kept


def test_stubborn_goroutines_never_run_again_and_run_returns_at_once() -> None:
    ran: list[str] = []

    def swallow() -> None:
        while True:
            try:
                gort.sleep(0.001)
            except BaseException:
                ran.append("swallowed")

    def looping_finally() -> None:
        try:
            gort.Chan().recv()
        finally:
            while True:
                ran.append("finally")
                gort.sleep(0.001)

    def main() -> float:
        gort.go(swallow)
        gort.go(looping_finally)
        gort.sleep(0.005)
        return time.perf_counter()

    kept = abandon.kept()
    t_return = gort.run(main)
    elapsed = time.perf_counter() - t_return
    assert elapsed < 1.0, elapsed  # about 1 ms; nothing waits for the goroutines
    assert ran == []
    gort.run(lambda: None)  # the next start reaps: inside try, yet nothing of theirs runs
    assert ran == []
    # Released with their handlers stripped (abandon._strip_handlers), not kept.
    assert abandon.kept() == kept


def test_goroutines_outside_handlers_are_released_when_run_returns() -> None:
    refs: list[weakref.ref[Any]] = []

    def parked(ch: gort.Chan[int]) -> None:
        refs.append(weakref.ref(getcurrent()))
        ch.recv()

    def spinner() -> None:
        refs.append(weakref.ref(getcurrent()))
        while True:
            pass

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        for _ in range(5):
            gort.go(parked, ch)
        gort.go(spinner)
        deadline = time.monotonic() + 30  # a loaded machine: sysmon may wait for a CPU
        while len(refs) < 6 and time.monotonic() < deadline:
            gort.sleep(0.01)  # the spinner is preempted at least once
        gort.sleep(0.01)

    kept = abandon.kept()
    gort.run(main)
    assert len(refs) == 6
    alive = [r() for r in refs]
    assert all(gr is None or gr.dead for gr in alive), alive
    assert abandon.kept() == kept


def test_goroutine_in_with_block_is_released_and_its_exit_never_runs() -> None:
    exits: list[str] = []

    class Ctx:
        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            exits.append("exit")

    def main() -> None:
        def worker() -> None:
            with Ctx():
                gort.Chan().recv()

        gort.go(worker)
        gort.sleep(0.001)

    assert run_then_reap(main)[1] == 0
    assert exits == []


def test_goroutine_parked_inside_a_finalizer_is_kept_not_resumed() -> None:
    # `del x` ran x.__del__, which parked. GreenletExit thrown there would be swallowed
    # by CPython's dealloc ("Exception ignored") and the goroutine would go on after
    # `del x`: the C between the frames decides, not the handler table.
    ran: list[str] = []

    class Res:
        def __del__(self) -> None:
            gort.sleep(10)

    def main() -> str:
        def worker() -> None:
            x = Res()
            del x
            ran.append("after del")

        gort.go(worker)
        gort.sleep(0.001)
        return "main returned"

    assert run_then_reap(main) == ("main returned", 1)
    assert ran == []


def test_finalizer_calling_gort_while_reaping_gets_a_clear_error() -> None:
    errors: list[str] = []

    class CallsGort:
        def __del__(self) -> None:
            try:
                gort.go(lambda: None)
            except RuntimeError as e:
                errors.append(str(e))

    def main() -> None:
        def worker(obj: CallsGort) -> None:
            gort.Chan().recv()

        gort.go(worker, CallsGort())
        gort.sleep(0.001)

    gort.run(main)
    assert len(errors) == 1 and "releases the goroutines an earlier run abandoned" in errors[0]
    assert rt.running() is None


def test_reap_releases_at_most_limit_at_return_and_the_rest_at_next_start() -> None:
    n = abandon.REAP_AT_RETURN + 50

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        for _ in range(n):
            gort.go(ch.recv)
        gort.sleep(0.001)

    gort.run(main)
    left = sum(len(g.gs) for g in abandon._graves)
    assert 50 <= left <= 52  # the rest of the goroutines, and g0
    gort.run(lambda: None)
    assert sum(len(g.gs) for g in abandon._graves) == 0


def _codes() -> list[CodeType]:
    """Every code object of a few stdlib modules, nested ones included."""
    out: list[CodeType] = []
    todo = [v.__code__ for mod in (dis, subprocess, threading, contextlib)
            for v in [*vars(mod).values(),
                      *(m for c in vars(mod).values() if isinstance(c, type)
                        for m in vars(c).values())]
            if isinstance(getattr(v, "__code__", None), CodeType)]
    while todo:
        code = todo.pop()
        out.append(code)
        todo.extend(c for c in code.co_consts if isinstance(c, CodeType))
    return out


def test_handler_ranges_match_dis() -> None:
    codes = _codes()
    assert len(codes) > 300
    with_handlers = 0
    for code in codes:
        want = tuple((e.start, e.end) for e in dis.Bytecode(code).exception_entries)
        assert symtab.handler_ranges(code) == want, code
        with_handlers += bool(want)
    assert with_handlers > 50


def test_stack_depths_are_consistent_and_within_the_compilers_bound() -> None:
    codes = _codes()
    known = 0
    for code in codes:
        depths = symtab.stack_depths(code)
        assert depths is not None, code  # every path agrees on every join
        assert set(depths) == {i.offset for i in dis.get_instructions(code)
                               if i.offset in depths}
        assert max(depths.values()) <= code.co_stacksize, code
        known += len(depths)
    assert known > 5000

    def loop(it: Any, ch: Any) -> None:
        for _ in it:
            with ch:
                ch.recv()

    code = loop.__code__
    instrs = list(dis.get_instructions(code))
    at = next(k for k, i in enumerate(instrs) if i.argval == "recv")
    recv = next(i.offset for i in instrs[at:] if i.opname == "CALL")
    # the loop's iterator, the with statement's bound __exit__, then recv's callable/self
    # (3.11 counts its arguments out at PRECALL)
    assert symtab.live_depth(code, recv) >= 2
    assert symtab.handler_depth(code, recv) == 2


def test_generators_an_abandoned_goroutine_alone_holds_close_running_no_handler() -> None:
    ran: list[str] = []
    shared: list[Any] = []

    @contextlib.contextmanager
    def managed() -> Any:
        try:
            yield
        finally:
            ran.append("contextmanager finally")

    def gen(tag: str) -> Any:
        try:
            yield 1
            yield 2
        finally:
            ran.append(tag)

    def worker(ch: gort.Chan[int]) -> None:
        mine = gen("local finally")
        next(mine)
        other = gen("shared finally")
        next(other)
        shared.append(other)  # held elsewhere too: not the goroutine's alone
        for _ in gen("iterated finally"):
            with managed():
                parked.append(1)
                ch.recv()

    parked: list[int] = []

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        for _ in range(20):
            gort.go(worker, ch)
        while len(parked) < 20:  # a loaded machine may take a while to run them all
            gort.sleep(0.001)

    assert run_then_reap(main)[1] == 0
    assert ran == []
    assert [next(g) for g in shared] == [2] * 20  # the shared ones still work
    shared.clear()
    assert ran == ["shared finally"] * 20  # and still run their handlers


def test_generators_in_cycles_an_abandoned_goroutine_alone_keeps_close_running_no_handler(
) -> None:
    # Before: the non-cyclic ones closed quietly, but a generator in a reference cycle (it
    # holds an object that holds it) ran its finally/except when the collector found the
    # cycle after the release.
    ran: list[str] = []
    shared: list[Any] = []

    class Holder:
        gen: Any = None

    def gen(tag: str, holder: Holder) -> Any:
        try:
            yield 1
            yield 2
        except GeneratorExit:
            ran.append(tag + " except")
            raise
        finally:
            ran.append(tag + " finally")

    class Suspend:
        def __await__(self) -> Any:
            yield

    async def coro(tag: str, holder: Holder) -> None:
        try:
            await Suspend()
        finally:
            ran.append(tag)

    def worker(ch: gort.Chan[int]) -> None:
        h = Holder()
        h.gen = gen("cyclic", h)  # h -> generator -> its frame's local h
        next(h.gen)
        ring = [Holder(), Holder()]  # a longer cycle: a -> b -> a, the generator on it
        ring[0].gen, ring[1].gen = ring[1], ring[0]
        ring[1].other = gen("ring", ring[0])  # type: ignore[attr-defined]
        next(ring[1].other)  # type: ignore[attr-defined]
        c = Holder()
        c.gen = coro("coroutine", c)
        c.gen.send(None)  # suspended in the await
        s = Holder()
        s.gen = gen("shared", s)
        next(s.gen)
        shared.append(s)  # held elsewhere too: not the goroutine's alone
        parked.append(1)
        ch.recv()

    parked: list[int] = []

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        for _ in range(10):
            gort.go(worker, ch)
        while len(parked) < 10:
            gort.sleep(0.001)

    assert run_then_reap(main)[1] == 0
    assert ran == []
    assert [next(h.gen) for h in shared] == [2] * 10  # the shared ones still work
    shared.clear()
    gc.collect()
    assert ran == ["shared except", "shared finally"] * 10  # and still run their handlers


@pytest.mark.parametrize("pattern", ["plain", "for", "listcomp", "select", "waitgroup",
                                     "with"])
def test_common_parking_patterns_are_released_not_kept(pattern: str) -> None:
    # None is kept (`with` once was: its __exit__ would have run). A 3.11 caller suspended
    # in an inlined call has f_lasti on the call's CACHE entries, and 3.12+ inlined
    # comprehensions have a handler that only restores their variable: both once kept.
    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()

        def body() -> Any:
            if pattern == "plain":
                return ch.recv()
            if pattern == "for":
                for v in ch:
                    return v
            if pattern == "listcomp":
                return [ch.recv() for _ in range(3)]
            if pattern == "select":
                return gort.select(ch.recv, gort.after(100).recv)
            if pattern == "waitgroup":
                wg = gort.sync.WaitGroup()
                wg.add(1)
                return wg.wait()
            with contextlib.nullcontext():
                return ch.recv()

        for _ in range(10):
            gort.go(body)
        gort.sleep(0.001)

    before = abandon.kept()
    gort.run(main)
    gort.run(lambda: None)
    assert abandon.kept() - before == 0


@pytest.mark.parametrize("shape", ["loop", "with2", "tryfin2"])
def test_nested_handlers_of_an_abandoned_goroutine_never_run(shape: str) -> None:
    # A quiet inner handler (finally: pass) re-raises into an enclosing except: the
    # goroutine looped in it forever and gort.run never returned.
    ran: list[str] = []

    class Ctx:
        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            ran.append("__exit__")

    def body(ch: gort.Chan[int]) -> None:
        if shape == "loop":
            while True:
                try:
                    try:
                        ch.recv()
                    finally:
                        pass
                except BaseException:
                    ran.append("except")
        elif shape == "with2":
            with Ctx(), Ctx():
                ch.recv()
        else:
            try:
                try:
                    ch.recv()
                finally:
                    ran.append("inner finally")
            finally:
                ran.append("outer finally")

    def main() -> str:
        gort.go(body, gort.Chan())
        gort.sleep(0.01)
        return "r1"

    assert run_then_reap(main) == ("r1", 0)
    assert ran == []


def test_goroutine_stopped_in_a_child_greenlet_is_released_running_nothing() -> None:
    # A goroutine that switched into a greenlet of its own, which parked (gevent-style
    # code, a greenlet-based generator). Both stacks are inside try/with blocks.
    from greenlet import greenlet

    ran: list[str] = []
    refs: list[weakref.ref[Any]] = []

    def inner(ch: gort.Chan[int]) -> None:
        try:
            ch.recv()
        finally:
            ran.append("child finally")

    def worker() -> None:
        child = greenlet(inner)
        refs.extend((weakref.ref(child), weakref.ref(getcurrent())))
        try:
            child.switch(gort.Chan())
        except BaseException:
            ran.append("parent except")

    def main() -> None:
        gort.go(worker)
        gort.sleep(0.01)

    assert run_then_reap(main)[1] == 0
    assert ran == []
    assert len(refs) == 2 and all(r() is None or r().dead for r in refs)


def test_stripped_handlers_stay_with_the_abandoned_frame_only() -> None:
    # The function whose abandoned frame lost its handlers still has them everywhere
    # else: the copy without an exception table belongs to that frame alone.
    def guarded(ch: gort.Chan[int] | None) -> str:
        try:
            if ch is None:
                raise KeyError("x")
            ch.recv()
        except KeyError:
            return "caught"
        return "received"

    def main() -> None:
        gort.go(guarded, gort.Chan())
        gort.sleep(0.001)

    kept = abandon.kept()
    gort.run(main)
    gort.run(lambda: None)
    assert abandon.kept() == kept
    assert guarded(None) == "caught"
    assert gort.run(lambda: guarded(None)) == "caught"


def test_gort_run_from_a_finalizer_while_reaping_raises_finalizing() -> None:
    # Before: the nested run reaped the same graves, and the outer release failed with
    # "ValueError: list.remove(x): x not in list" out of gort.run.
    errors: list[str] = []

    class StartsARun:
        def __del__(self) -> None:
            try:
                gort.run(lambda: None)
            except rt.Finalizing as e:
                errors.append(str(e))

    def main() -> str:
        def worker(obj: StartsARun) -> None:
            gort.Chan[int]().recv()

        for _ in range(3):
            gort.go(worker, StartsARun())
        gort.sleep(0.001)
        return "main returned"

    assert gort.run(main) == "main returned"
    assert len(errors) == 3 and all("gort.run called from a finalizer" in e for e in errors)
    assert gort.run(lambda: "again") == "again"


@pytest.mark.parametrize("n", [1, abandon.REAP_AT_RETURN + 500])
def test_objects_outliving_a_run_forget_its_abandoned_waiters(n: int) -> None:
    # Run 1 ends with goroutines parked on objects run 2 uses. Before: run 2's unlock
    # handed the mutex to an abandoned waiter for good, a select's send went to an
    # abandoned receiver (lost), the RWMutex let an abandoned reader in, the semaphore
    # granted an abandoned waiter its tokens, and a waiter whose greenlet was released
    # already was scheduled: gort.run crashed (ValueError from start_main).
    from gort import context, semaphore

    mu = gort.sync.Mutex()
    rw = gort.sync.RWMutex()
    cond = gort.sync.Cond(gort.sync.Mutex())
    ch: gort.Chan[int] = gort.Chan()
    sem = semaphore.Weighted(1)
    resumed: list[str] = []

    def waiter(what: str) -> None:
        if what == "mutex":
            mu.lock()
        elif what == "rw":
            rw.rlock()
        elif what == "chan":
            gort.select(ch.recv, ch.recv_ok)
        elif what == "cond":
            with cond.L:
                cond.wait()
        else:
            sem.acquire(context.background(), 1)
        resumed.append(what)

    def run1() -> None:
        mu.lock()
        rw.lock()
        sem.acquire(context.background(), 1)
        for i in range(n):
            gort.go(waiter, ("mutex", "rw", "chan", "cond", "sem")[i % 5])
        gort.sleep(0.01)

    def run2() -> tuple[bool, ...]:
        mu.unlock()
        rw.unlock()
        sem.release(1)
        with cond.L:
            cond.broadcast()
        sent = gort.select((ch.send, 1), gort.default)[0] == 0
        gort.sleep(0.01)  # anything wrongly readied would run now
        return mu.try_lock(), rw.try_lock(), sem.try_acquire(1), sent

    gort.run(run1)
    assert gort.run(run2) == (True, True, True, False)
    assert resumed == []
