"""Exceptions delivered to parked goroutines (proc.goraise), and goroutines inside greenlets.

Every blocking primitive registers what its G waits on; ``goraise`` takes
the G off it before readying it, so an interrupted wait leaves no sudog,
timer or semaphore entry behind, and nothing sent afterwards is lost.
"""

from __future__ import annotations

import signal
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import greenlet

import gort
import gort.runtime as rt
from gort.runtime import sysmon
from gort.sync import Cond, Mutex, RWMutex, WaitGroup

from ..conftest import run_testprog, settle


class Boom(Exception):
    pass


def _interrupt_while_parked(block: Callable[[], Any], after: Callable[[], Any]) -> list[Any]:
    """Park a goroutine in block(), raise Boom in it, then run after() in it."""
    log: list[Any] = []

    def main() -> None:
        done: gort.Chan[None] = gort.Chan(1)
        me: list[rt.G] = []

        def victim() -> None:
            me.append(rt.getg())
            try:
                block()
            except Boom:
                log.append("boom")
            log.append(after())
            done.send(None)

        gort.go(victim)
        settle()
        gp = me[0]
        assert gp.status is rt.Gstatus.WAITING
        rt.goraise(gp, Boom())
        done.recv()

    gort.run(main)
    return log


def test_goraise_on_recv_leaves_no_sudog_and_loses_no_value() -> None:
    ch: gort.Chan[str] = gort.Chan()

    def after() -> Any:
        assert len(ch.recvq) == 0
        gort.go(ch.send, "x")
        return ch.recv()

    assert _interrupt_while_parked(ch.recv, after) == ["boom", "x"]


def test_goraise_on_send_leaves_no_sudog() -> None:
    ch: gort.Chan[str] = gort.Chan()

    def after() -> Any:
        assert len(ch.sendq) == 0
        gort.go(ch.send, "y")
        return ch.recv()

    assert _interrupt_while_parked(lambda: ch.send("lost"), after) == ["boom", "y"]


def test_goraise_on_select_takes_every_case_off() -> None:
    a: gort.Chan[int] = gort.Chan()
    b: gort.Chan[int] = gort.Chan(0)

    def after() -> Any:
        assert (len(a.recvq), len(b.sendq)) == (0, 0)
        gort.go(a.send, 7)
        return a.recv()

    assert _interrupt_while_parked(lambda: gort.select(a.recv, (b.send, 1)), after) == \
        ["boom", 7]


def test_goraise_on_sleep_stops_the_timer() -> None:
    def after() -> Any:
        s = rt.running()
        assert s is not None and s.m0.p is not None
        return len(s.m0.p.timers)

    assert _interrupt_while_parked(lambda: gort.sleep(3600), after) == ["boom", 0]


def test_goraise_on_mutex_wait_leaves_the_lock_consistent() -> None:
    mu = Mutex()
    holder: gort.Chan[None] = gort.Chan()

    def hold() -> None:
        with mu:
            holder.recv()

    def block() -> None:
        gort.go(hold)
        gort.gosched()  # hold takes the lock
        mu.lock()

    def after() -> Any:
        assert len(mu._sema) == 0
        holder.send(None)
        settle()
        return mu.try_lock()

    assert _interrupt_while_parked(block, after) == ["boom", True]


def test_goraise_on_cond_wait_returns_with_the_lock_held() -> None:
    mu = Mutex()
    c = Cond(mu)

    def block() -> None:
        mu.lock()
        c.wait()

    def after() -> Any:
        held = mu.locked()
        mu.unlock()
        return held

    assert _interrupt_while_parked(block, after) == ["boom", True]


def test_goraise_on_waitgroup_and_rwmutex() -> None:
    wg = WaitGroup()

    def block_wg() -> None:
        wg.add(1)
        wg.wait()

    assert _interrupt_while_parked(block_wg, lambda: len(wg._sema)) == ["boom", 0]
    rw = RWMutex()

    def block() -> None:
        rw.rlock()
        gort.go(rw.lock)  # a writer waits for the reader...
        gort.gosched()
        rw.runlock()  # ...and gets it
        rw.rlock()  # this reader waits behind the writer

    assert _interrupt_while_parked(block, lambda: len(rw._rsema)) == ["boom", 0]


def test_goraise_on_offload_drops_the_late_outcome() -> None:
    log: list[Any] = []

    def main() -> None:
        gp = rt.getg()

        def waker() -> None:
            settle()
            rt.goraise(gp, Boom())

        gort.go(waker)
        try:
            gort.offload(time.sleep, 0.2)
        except Boom:
            log.append("boom")
        gort.sleep(0.4)  # the call finishes meanwhile: its outcome goes nowhere
        log.append(gort.offload(lambda: "next"))

    gort.run(main)
    assert log == ["boom", "next"]


def test_goraise_after_the_wait_completed_keeps_the_value() -> None:
    """The value was handed over first: recv returns it; the exception comes next."""
    log: list[Any] = []

    def main() -> None:
        ch: gort.Chan[str] = gort.Chan()
        main_g = rt.getg()

        def sender() -> None:
            ch.send("v")  # main is readied with "v"...
            rt.goraise(main_g, Boom())  # ...then interrupted before it runs

        gort.go(sender)
        log.append(ch.recv())
        try:
            gort.sleep(0)  # the next safe point
        except Boom:
            log.append("boom")

    gort.run(main)
    assert log == ["v", "boom"]


def test_an_exception_left_for_main_as_it_returns_is_raised_not_dropped() -> None:
    """No safe point came before main returned: raised at its return, never lost (it was
    dropped, and gort.run returned main's value)."""

    def main() -> int:
        rt.goraise(rt.getg(), Boom("late"))
        rt.goraise(rt.getg(), ValueError("later"))
        return 5

    with pytest.raises(ValueError, match="later") as info:
        gort.run(main)
    assert isinstance(info.value.__context__, Boom)


def test_an_exception_left_while_running_is_raised_by_the_next_blocking_call() -> None:
    """Adversarial round 11: a wait that parks in threading's code (a Condition over
    gort's locks) kept it for good, and it escaped at a later gort call outside every
    try. Raised from the wait now, with the Condition's lock taken back."""
    import threading

    def main() -> tuple[Any, ...]:
        cv = threading.Condition()
        rt.goraise(rt.getg(), Boom("while running"))
        with cv:
            try:
                cv.wait(5)
            except Boom as e:
                return ("raised by the wait", str(e), cv._is_owned())  # type: ignore[attr-defined]
            return ("not raised",)

    assert gort.run(main) == ("raised by the wait", "while running", True)


def test_two_exceptions_before_the_first_is_raised_both_arrive_in_order() -> None:
    """Each is raised at its own safe point, even inside an except clause (no chaining)."""

    def main() -> list[str]:
        ch: gort.Chan[None] = gort.Chan()
        main_g = rt.getg()
        got: list[str] = []

        def waker() -> None:
            rt.goraise(main_g, Boom("first"))
            rt.goraise(main_g, ValueError("second"))

        gort.go(waker)
        try:
            raise KeyError("handling")
        except KeyError:
            try:
                ch.recv()
            except Boom as e:
                got.append(str(e))
        try:
            gort.sleep(0)  # the next safe point
        except ValueError as e:
            got.append(str(e))
        gort.sleep(0)  # nothing left
        return got

    assert gort.run(main) == ["first", "second"]


def test_exception_raised_in_the_idle_wait_goes_to_main() -> None:
    """A handler raising while no goroutine runs: main gets it, the sleeper is untouched."""
    log: list[Any] = []

    def handler(signum: int, frame: object) -> None:
        raise Boom("alarm")

    def main() -> None:
        ch: gort.Chan[str] = gort.Chan()

        def sleeper() -> None:
            gort.sleep(0.3)
            ch.send("x")

        gort.go(sleeper)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        try:
            ch.recv()
        except Boom as e:
            log.append(str(e))
        log.append(ch.recv())

    old = signal.signal(signal.SIGALRM, handler)
    try:
        gort.run(main)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert log == ["alarm", "x"]


# -- goroutines that run inside greenlets of their own -----------------------------


def test_goroutine_parked_inside_its_child_greenlet_resumes_there() -> None:
    def main() -> list[Any]:
        ch: gort.Chan[int] = gort.Chan()

        def compute(n: int) -> int:
            got = ch.recv()  # parks inside the child greenlet
            assert got is not None
            gort.sleep(0.001)
            return n + got

        def worker(out: gort.Chan[Any]) -> None:
            child = greenlet(compute)
            out.send(child.switch(40))

        out: gort.Chan[Any] = gort.Chan()
        gort.go(worker, out)
        gort.go(ch.send, 2)
        return [out.recv()]

    assert gort.run(main) == [42]


def test_goroutine_preempted_inside_its_child_greenlet_resumes_there() -> None:
    r = run_testprog("child_greenlet_spin.py", timeout=60, module=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok 3", r.stdout


def test_child_greenlet_switching_back_and_forth_with_parks() -> None:
    def main() -> list[Any]:
        log: list[Any] = []

        def gen() -> None:
            parent = child.parent
            assert parent is not None
            for i in range(3):
                gort.sleep(0)
                parent.switch(i)

        child = greenlet(gen)
        for _ in range(3):
            log.append(child.switch())
            gort.gosched()
        return log

    assert gort.run(main) == [0, 1, 2]


@pytest.mark.parametrize("creator", ["parked", "finished"])
@pytest.mark.parametrize("ending", ["returns", "raises"])
def test_greenlet_made_in_one_goroutine_finished_from_another(creator: str,
                                                              ending: str) -> None:
    # Adversarial pass (F5): greenlet hands a finished greenlet's value (or exception) to
    # its parent, the greenlet of the goroutine that made it, which parks inside the
    # scheduler or runs other goroutines (the free list): the value was lost, or the
    # parked creator ran in the other's place and a false deadlock ended the program.
    # It goes to the goroutine that switched in; the creator waits for its turn.
    def main() -> list[Any]:
        shared: dict[str, Any] = {}
        log: list[Any] = []

        def body() -> tuple[str, Any]:
            parent = greenlet.getcurrent().parent
            assert parent is not None
            x = parent.switch("first")
            if ending == "raises":
                raise ValueError(f"boom {x}")
            return ("second", x)

        def make(ch: gort.Chan[str]) -> None:
            g = greenlet(body)
            shared["g"] = g
            log.append(("make", g.switch()))
            if creator == "parked":
                log.append(("creator", ch.recv()))

        def other() -> None:
            gort.sleep(0.01)
            try:
                log.append(("other", shared["g"].switch("from-other")))
            except ValueError as e:
                log.append(("other raised", str(e)))
            log.append(("dead", shared["g"].dead))

        ch: gort.Chan[str] = gort.Chan()
        gort.go(make, ch)
        wg = gort.sync.WaitGroup()
        wg.go(other)
        wg.wait()
        if creator == "parked":
            ch.send("to-creator")
        gort.sleep(0.01)
        # the runtime goes on: five goroutines hand over five values
        for i in range(5):
            gort.go(ch.send, str(i))
        log.append(sorted(ch.recv() for _ in range(5)))
        return log

    got = gort.run(main)
    want: list[Any] = [("make", "first")]
    want.append(("other", ("second", "from-other")) if ending == "returns"
                else ("other raised", "boom from-other"))
    want.append(("dead", True))
    if creator == "parked":
        want.append(("creator", "to-creator"))
    want.append(["0", "1", "2", "3", "4"])
    assert got == want


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
@pytest.mark.parametrize("creator", ["ended", "parked"])
def test_run_ends_cleanly_after_a_greenlet_finished_across_goroutines(module: bool,
                                                                       creator: str) -> None:
    r = run_testprog("greenlet_cross_end.py", creator, module=module, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "OK\n", "")


@pytest.mark.parametrize("slice_ns", ["10000000", "50000"])
def test_child_greenlet_stress_nothing_lost(slice_ns: str) -> None:
    prog = textwrap.dedent("""
        import gort
        from greenlet import greenlet

        def body(n, ch):
            total = 0
            for i in range(n):
                x = 0
                for _ in range(200):
                    x += 1
                if i % 7 == 0:
                    gort.sleep(0)
                total += i
            return total

        def worker(k, out):
            ch = gort.Chan()
            g = greenlet(body)
            out.send((k, g.switch(300, ch)))

        def main():
            out = gort.Chan(10)
            for k in range(8):
                gort.go(worker, k, out)
            got = sorted(out.recv() for _ in range(8))
            assert got == [(k, sum(range(300))) for k in range(8)], got
            print("ok")

        gort.run(main)
    """)
    r = _run_source(prog, {"GORT_PREEMPT_NS": slice_ns})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def _run_source(src: str, env: dict[str, str]) -> Any:
    import os
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMAXPROCS")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", src], capture_output=True, text=True,
                          timeout=60, env=full)


# -- thread locks (threadlock.py) under goraise ---------------------------------------


def test_goraise_on_a_thread_lock_wait_leaves_the_lock_consistent() -> None:
    import threading

    def main() -> list[Any]:
        lk = threading.Lock()  # goroutine-aware: made inside the run
        log: list[Any] = []
        holder: gort.Chan[None] = gort.Chan()
        done: gort.Chan[None] = gort.Chan(1)

        def hold() -> None:
            with lk:
                holder.recv()

        me: list[rt.G] = []

        def victim() -> None:
            me.append(rt.getg())
            try:
                lk.acquire()
                log.append("got it (wrong)")
            except Boom:
                log.append("boom")
            done.send(None)

        gort.go(hold)
        gort.gosched()
        gort.go(victim)
        settle()
        rt.goraise(me[0], Boom())
        done.recv()
        holder.send(None)  # hold releases: no waiter left to hand the lock to
        settle()
        log.append(lk.acquire(blocking=False))
        lk.release()
        return log

    assert gort.run(main) == ["boom", True]


def test_goraise_racing_a_release_from_another_thread() -> None:
    """A thread hands the lock over just as goraise cancels: the lock is passed on, never lost."""
    import threading

    def main() -> list[Any]:
        results: list[Any] = []
        for _ in range(50):
            lk = threading.Lock()
            lk.acquire()  # the main goroutine holds it; a thread will release it
            me: list[rt.G] = []
            done: gort.Chan[str] = gort.Chan(1)

            def victim(lk: Any = lk, me: list[rt.G] = me, done: gort.Chan[str] = done) -> None:
                me.append(rt.getg())
                got = "boom"
                try:
                    lk.acquire()
                    got = "acquired"
                    lk.release()
                    gort.sleep(0)  # where an exception that came after the hand-off lands
                except Boom:
                    pass
                done.send(got)

            gort.go(victim)
            settle()
            t = threading.Thread(target=lk.release)
            t.start()
            t.join()  # its ready_foreign is queued (or already run, if start() parked)
            if me[0].status is not rt.Gstatus.DEAD:
                rt.goraise(me[0], Boom())
            results.append(done.recv())
            assert lk.acquire(timeout=5), "the lock was lost"
            lk.release()
        return results

    results = gort.run(main)
    assert len(results) == 50 and set(results) <= {"acquired", "boom"}


def test_blocking_inside_a_profile_function_leaves_no_waiter_behind() -> None:
    import sys

    def main() -> list[Any]:
        ch: gort.Chan[int] = gort.Chan()
        errors: list[str] = []

        def prof(frame: Any, event: str, arg: Any) -> None:
            if event == "call" and frame.f_code.co_name == "target":
                try:
                    ch.recv()
                except RuntimeError as e:
                    errors.append(str(e))

        def target() -> None:
            pass

        sys.setprofile(prof)
        try:
            target()
        finally:
            sys.setprofile(None)
        gort.go(ch.send, 5)  # no stale receiver queued: this value reaches main
        return [len(ch.recvq), ch.recv(), "profile" in errors[0]]

    assert gort.run(main) == [0, 5, True]


def test_ctrl_c_during_teardown_still_ends_the_run_completely() -> None:
    """KeyboardInterrupt in a teardown step: the other steps run, the thread can run again."""
    import gc

    def interrupted() -> None:
        raise KeyboardInterrupt

    def main() -> None:
        s = rt.current_sched()
        s.closers.insert(len(s.closers) // 2, interrupted)  # in the middle of the services

    was = gc.isenabled()
    with pytest.raises(KeyboardInterrupt):
        gort.run(main)
    assert rt.running() is None
    assert gc.isenabled() == was
    assert sysmon.live_threads() == 0
    assert gort.run(lambda: "again") == "again"


def test_ctrl_c_between_teardown_steps_is_finished_by_the_next_run() -> None:
    """KeyboardInterrupt between two steps of teardown (outside their try: at its entry,
    or, as here, while the calls from other threads are dropped) cuts it short; the
    thread's next gort.run finishes it and starts. It used to leave the runtime
    registered: "a runtime is already running on this thread" from then on."""
    import gc
    import signal

    class Interrupting:
        def abandon(self) -> None:
            raise KeyboardInterrupt

    def main() -> None:
        rt.current_sched().callbacks.add(Interrupting())

    was = gc.isenabled()
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        gort.run(main)
    s = rt.running()
    assert s is not None and s.closing and not s.torn_down  # cut short
    assert gort.run(lambda: "again") == "again"
    assert s.torn_down and rt.running() is None
    assert gc.isenabled() == was
    assert sysmon.live_threads() == 0
    assert signal.getsignal(signal.SIGINT) is handler


@pytest.mark.parametrize("seed", range(3))
def test_runs_under_a_raising_signal_storm_leave_nothing_behind(seed: int) -> None:
    for _ in range(2):
        r = run_testprog("signal_storm_runs.py", str(seed), module=False, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.split("\n")[:2] == [
            "storm True", "after [7, 7, 7] profiled True finally ran 0"], r.stdout


# -- RecursionError: a gort call made near the recursion limit ----------------------------


def _at_depth(n: int, op: Callable[..., Any], *args: Any) -> Any:
    if n == 0:
        return op(*args)
    return _at_depth(n - 1, op, *args)


@pytest.mark.parametrize("seed", range(4))
def test_gort_calls_near_the_recursion_limit_fail_whole_or_work(seed: int) -> None:
    """Every operation, at random depths up to past the limit: each either completes or
    raises RecursionError having changed nothing. Once a receiver's sudog stayed queued
    (reported "chan send"), values went missing and the run deadlocked."""
    import random

    rnd = random.Random(seed)

    def main() -> tuple[list[int], list[int], int]:
        s = rt.running()
        assert s is not None
        spread = s.depth_left.value + 20  # up to 20 frames past what the limit allows
        ch: gort.Chan[int] = gort.Chan(rnd.choice([0, 1, 3]))
        other: gort.Chan[int] = gort.Chan()
        mu = Mutex()
        sent: list[int] = []
        got: list[int] = []
        locked = [0]

        def sender() -> None:
            for i in range(150):
                try:
                    if rnd.random() < 0.5:
                        _at_depth(rnd.randrange(spread), ch.send, i)
                    else:
                        _at_depth(rnd.randrange(spread), gort.select, (ch.send, i), other.recv)
                    sent.append(i)
                except RecursionError:
                    pass

                def critical() -> None:
                    mu.lock()
                    try:
                        locked[0] += 1
                        gort.sleep(0)
                    finally:
                        mu.unlock()

                for op in (gort.gosched, critical):
                    try:
                        _at_depth(rnd.randrange(spread), op)
                    except RecursionError:
                        pass
            ch.close()

        def receiver(done: gort.Chan[None]) -> None:
            while True:
                try:
                    if rnd.random() < 0.5:
                        v, ok = _at_depth(rnd.randrange(spread), ch.recv_ok)
                    else:
                        i, r = _at_depth(rnd.randrange(spread), gort.select, ch.recv_ok,
                                         gort.after(5).recv)
                        assert i == 0
                        v, ok = r
                except RecursionError:
                    continue
                if not ok:
                    break
                got.append(v)
            done.send(None)

        done: gort.Chan[None] = gort.Chan()
        gort.go(sender)
        gort.go(receiver, done)
        done.recv()
        mu.lock()  # free: nobody kept it
        return sent, got, locked[0]

    sent, got, locked = gort.run(main)
    assert got == sent and 0 < len(sent) < 150
    assert locked > 0


def test_recursion_error_message_names_the_budget() -> None:
    import sys

    def main() -> str:
        ch: gort.Chan[int] = gort.Chan()
        s = rt.running()
        assert s is not None
        room = s.depth_left.value  # the recursion budget left here (stack.py)
        try:
            _at_depth(room - 10, ch.send, 1)  # about 8 frames left: refused at once
        except RecursionError as e:
            assert len(ch.recvq) == 0 and len(ch.sendq) == 0
            return str(e)
        raise AssertionError("a send near the limit did not raise")

    msg = gort.run(main)
    assert msg.startswith("maximum recursion depth exceeded (gort: this call needs 16 frames "
                          f"of the recursion limit, {sys.getrecursionlimit()}, and "), msg
    assert msg.endswith("were left; recurse less, or raise sys.setrecursionlimit)"), msg


@pytest.mark.parametrize("kind", ["Lock", "RLock", "Condition"])
def test_with_on_a_thread_lock_near_the_recursion_limit_never_leaves_it_held(
        kind: str) -> None:
    # A with's exit runs one frame deeper than its body: gort's Python-level __exit__
    # called release(), one frame more, which failed at the limit with the lock held.
    import threading

    def main() -> list[int]:
        lk: Any = getattr(threading, kind)()
        s = rt.running()
        assert s is not None
        room = s.depth_left.value
        held = []

        def body() -> None:
            with lk:
                pass

        for d in range(room - 40, room + 5):
            try:
                _at_depth(d, body)
            except RecursionError:
                pass
            if lk.acquire(blocking=False):
                lk.release()
            else:
                held.append(d)
        return held

    assert gort.run(main) == []


@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "plain-python"])
def test_second_preemption_signal_while_hooked_never_chains_the_hook_to_itself(
        module: bool) -> None:
    # The rare RecursionError in a shallow generator under a 50 us slice (about 1 run
    # in 300 on a loaded machine): on 3.11 a second signal while the one-shot hook was
    # armed left the hook as the frame's own tracer, and a later arming on that frame
    # made it call itself (`_trace_hook` 985 deep). Deterministic here.
    r = run_testprog("preempt_rearm.py", timeout=60, module=module)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr[-3000:]
    assert r.stdout == "other ran after again 1 2\n", r.stdout


def test_ctrl_c_as_the_runtime_registers_is_undone() -> None:
    # KeyboardInterrupt right after schedinit registered the runtime (where CPython can
    # raise a handler's exception: as the call returns). Before: the runtime stayed
    # registered, and every later gort.run failed ("already running"); the implicit
    # runtime's every later call failed ("called outside any goroutine").
    r = run_testprog("ki_at_start.py", module=False)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == ["gort.run interrupted", "gort.run again: ok",
                                     "implicit interrupted", "implicit again: ok"]
