"""Calls from threads that run no goroutines (cgocall.py).

Non-blocking operations (select with default, close, go, Timer.stop,
WaitGroup.done and .go, Mutex.unlock ...) made from a plain thread or an offload
worker run on the M and return exactly what they would in a goroutine; a
blocking one raises NotInGoroutine naming the thread and what to do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import gort
import gort.runtime as rt
from gort.sync import Mutex, WaitGroup


def _nonblocking_ops(log: list[Any]) -> None:
    """What a thread does: every result goes to log, in order."""
    ch: gort.Chan[int] = gort.Chan(3)
    log.extend(gort.select((ch.send, i), gort.default) for i in range(5))
    log.append(len(ch))
    log.append([gort.select(ch.recv, gort.default) for _ in range(4)])
    ch.close()
    log.append(gort.select(ch.recv_ok, gort.default))
    ran: gort.Chan[str] = gort.Chan(1)
    gort.go(ran.send, "go ran")
    t = gort.Timer(10)
    log.append(t.stop())
    log.append(t.stop())
    mu = Mutex()
    log.append(mu.try_lock())
    log.append(mu.try_lock())
    mu.unlock()
    log.append(mu.locked())
    log.append(ran)


_EXPECTED = [(0, None), (0, None), (0, None), (1, None), (1, None), 3,
             [(0, 0), (0, 1), (0, 2), (1, None)], (0, (None, False)),
             True, False, True, False, False]


def _check(log: list[Any]) -> None:
    ran = log.pop()
    assert log == _EXPECTED
    assert ran.recv() == "go ran"


def test_nonblocking_ops_from_a_plain_thread_return_what_a_goroutine_gets() -> None:
    log: list[Any] = []
    errors: list[BaseException] = []

    def thread() -> None:
        try:
            _nonblocking_ops(log)
        except BaseException as e:
            errors.append(e)

    def main() -> None:
        th = threading.Thread(target=thread, name="plain-thread")
        th.start()
        gort.offload(th.join)  # keeps the run alive (an offload in flight) meanwhile
        assert errors == []
        _check(log)

    gort.run(main)


def test_nonblocking_ops_from_an_offload_worker() -> None:
    def main() -> None:
        log: list[Any] = []
        gort.offload(_nonblocking_ops, log)
        _check(log)

    gort.run(main)


def test_goroutine_ops_give_the_same_results_as_from_a_thread() -> None:
    def main() -> None:
        log: list[Any] = []
        _nonblocking_ops(log)
        _check(log)

    gort.run(main)


def test_waitgroup_done_and_close_from_threads_wake_parked_goroutines() -> None:
    def main() -> None:
        wg = WaitGroup()
        wg.add(4)
        ch: gort.Chan[int] = gort.Chan()
        got: list[Any] = []

        def reader() -> None:
            got.append(ch.recv_ok())
            wg.done()

        gort.go(reader)
        threads = [threading.Thread(target=wg.done) for _ in range(3)]
        for th in threads:
            th.start()
        wg2 = WaitGroup()
        wg2.add(1)
        closer = threading.Thread(target=lambda: (ch.close(), wg2.done()))
        closer.start()
        gort.offload(closer.join)
        wg.wait()
        wg2.wait()
        for th in threads:
            th.join()
        assert got == [(None, False)]

    gort.run(main)


def test_waitgroup_go_from_a_thread_starts_the_goroutine_and_counts_it() -> None:
    # Like gort.go and add, WaitGroup.go is non-blocking: from a plain thread it raised
    # NotInGoroutine naming "a blocking call" (adversarial round 12).
    def main() -> None:
        wg = WaitGroup()
        ran: list[tuple[str, bool]] = []
        errs: list[BaseException] = []

        def work(tag: str) -> None:
            ran.append((tag, threading.current_thread() is threading.main_thread()))

        def th() -> None:
            try:
                for i in range(3):
                    wg.go(work, f"t{i}")
            except BaseException as e:  # asserted below
                errs.append(e)

        t = threading.Thread(target=th)
        t.start()
        gort.offload(t.join)
        wg.wait()
        assert errs == []
        assert sorted(ran) == [("t0", True), ("t1", True), ("t2", True)]

    gort.run(main)


@pytest.mark.parametrize("op", [
    lambda ch: ch.recv(),
    lambda ch: ch.send(1),
    lambda ch: gort.select(ch.recv),
    lambda ch: gort.sleep(0.01),
    lambda ch: Mutex().lock(),
], ids=["recv", "send", "select-without-default", "sleep", "mutex-lock"])
def test_a_blocking_call_from_a_thread_says_which_thread_and_what_to_do(
        op: Callable[[gort.Chan[int]], Any]) -> None:
    def main() -> None:
        ch: gort.Chan[int] = gort.Chan()
        errors: list[BaseException] = []

        def thread() -> None:
            try:
                op(ch)
            except BaseException as e:
                errors.append(e)

        th = threading.Thread(target=thread, name="feeder-7")
        th.start()
        gort.offload(th.join)
        assert len(errors) == 1
        e = errors[0]
        assert isinstance(e, rt.NotInGoroutine)
        assert isinstance(e, RuntimeError)
        msg = str(e)
        assert "'feeder-7'" in msg and "runs no goroutines and cannot park" in msg
        assert "select with gort.default" in msg and "gort.go" in msg

    gort.run(main)


def test_a_call_from_sysmons_thread_is_refused_never_waits_for_the_m() -> None:
    def main() -> None:
        s = rt.running()
        assert s is not None
        ch: gort.Chan[int] = gort.Chan(1)
        mon = s.sysmon
        real = mon.ident

        def as_sysmon() -> BaseException | None:
            mon.ident = threading.get_ident()  # pretend: this worker is sysmon
            try:
                gort.select((ch.send, 1), gort.default)
            except RuntimeError as e:
                return e
            finally:
                mon.ident = real
            return None

        e = gort.offload(as_sysmon)
        assert e is not None and "sysmon thread" in str(e)
        assert len(ch) == 0

    gort.run(main)


def test_a_call_after_the_run_ended_raises_instead_of_waiting() -> None:
    ch: gort.Chan[int] = gort.Chan(1)
    gort.run(lambda: None)
    errors: list[BaseException] = []

    def thread() -> None:
        try:
            gort.select((ch.send, 1), gort.default)
        except BaseException as e:
            errors.append(e)

    th = threading.Thread(target=thread)
    th.start()
    th.join(10)
    assert not th.is_alive()
    assert len(errors) == 1 and "no runtime is running" in str(errors[0])


def test_callbacks_queued_when_the_run_ends_are_failed_not_left_waiting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No asynchronous preemption: under load sysmon (which counts a queued call as work
    # waiting) preempted main between seeing the call and returning, and the scheduling
    # round ran it.
    monkeypatch.setenv("GODEBUG", "asyncpreemptoff=1")
    results: list[Any] = []
    spinning = [False]

    def main() -> None:
        ch: gort.Chan[int] = gort.Chan(1)
        s = rt.running()
        assert s is not None

        def thread() -> None:
            while not spinning[0]:  # call only once main spins: it makes no scheduling round
                time.sleep(0.001)
            try:
                results.append(gort.select((ch.send, 1), gort.default))
            except RuntimeError as e:
                results.append(str(e))

        th = threading.Thread(target=thread)
        th.start()
        spinning[0] = True
        # Spin without a scheduling round until the call is queued, then end the run.
        while not s.callbacks:
            pass
        results.append("main returns")
        main_thread_join.append(th)

    main_thread_join: list[threading.Thread] = []
    gort.run(main)
    main_thread_join[0].join(10)
    assert results[0] == "main returns"
    assert len(results) == 2 and "the run ended before this call" in results[1]


def test_toolkit_non_blocking_calls_work_from_a_plain_thread() -> None:
    """Context cancel functions, semaphore release/try_acquire, try_rlock, errgroup.go and
    the read-only queries run on the runtime's thread when another thread calls them."""
    from gort import context, errgroup, semaphore
    from gort.sync import RWMutex

    def main() -> list[Any]:
        ctx, cancel = context.with_cancel(context.background())
        sem = semaphore.Weighted(2)
        rw = RWMutex()
        g = errgroup.Group()
        ran: gort.Chan[str] = gort.Chan(1)
        out: list[Any] = []

        def thread() -> None:
            out.append(sem.try_acquire(2))
            sem.release(2)
            out.append(rw.try_rlock())
            g.go(ran.send, "from a goroutine the thread started")
            out.append(gort.num_goroutine() >= 1)
            out.append("goroutine 1 [" in gort.stack())
            out.append(gort.gomaxprocs() == 1)
            cancel()

        th = threading.Thread(target=thread)
        th.start()
        gort.offload(th.join)
        ctx.done().recv()  # closed by the thread's cancel
        out.append(type(ctx.err()).__name__)
        out.append(ran.recv())
        g.wait()
        rw.runlock()
        return out

    assert gort.run(main) == [True, True, True, True, True, "Canceled",
                              "from a goroutine the thread started"]
