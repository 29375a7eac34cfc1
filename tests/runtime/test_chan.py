"""Channels: Go's semantics over capacities 0, 1, 2 and 10 (Go: chan_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

import gort
from gort.runtime.chan import Chan

from ..conftest import settle

CAPS = [0, 1, 2, 10]


def check_invariants(c: Chan[Any]) -> None:
    """hchan's invariants (chan.py's header)."""
    assert not (c.recvq.has_waiter() and c.sendq.has_waiter())
    if c.dataqsiz > 0:
        assert not (c.qcount > 0 and c.recvq.has_waiter())
        assert not (c.qcount < c.dataqsiz and c.sendq.has_waiter())
    assert 0 <= c.qcount <= c.dataqsiz


@pytest.mark.parametrize("cap", CAPS)
def test_values_arrive_in_send_order(cap: int) -> None:
    def main() -> list[int]:
        c: gort.Chan[int] = gort.Chan(cap)

        def producer() -> None:
            for i in range(50):
                c.send(i)
                check_invariants(c)
            c.close()

        gort.go(producer)
        return list(c)

    assert gort.run(main) == list(range(50))


@pytest.mark.parametrize("cap", CAPS)
def test_recv_on_closed_drained_chan_returns_none(cap: int) -> None:
    def main() -> tuple[Any, ...]:
        c: gort.Chan[int] = gort.Chan(cap)
        if cap:
            c.send(7)
        c.close()
        first = c.recv_ok() if cap else (7, True)
        return first, c.recv(), c.recv_ok(), c.recv_ok()

    assert gort.run(main) == ((7, True), None, (None, False), (None, False))


@pytest.mark.parametrize("cap", CAPS)
def test_send_on_closed_chan_raises_and_runtime_stays_usable(cap: int) -> None:
    def main() -> str:
        c: gort.Chan[int] = gort.Chan(cap)
        c.close()
        with pytest.raises(gort.ClosedChannelError, match=r"^send on closed channel$"):
            c.send(1)
        d: gort.Chan[int] = gort.Chan(1)
        d.send(5)
        return f"{d.recv()}"

    assert gort.run(main) == "5"


@pytest.mark.parametrize("cap", CAPS)
def test_double_close_raises(cap: int) -> None:
    def main() -> None:
        c: gort.Chan[int] = gort.Chan(cap)
        c.close()
        with pytest.raises(gort.ClosedChannelError, match=r"^close of closed channel$"):
            c.close()

    gort.run(main)


@pytest.mark.parametrize("cap", CAPS)
def test_close_wakes_every_blocked_receiver(cap: int) -> None:
    def main() -> list[tuple[Any, bool]]:
        c: gort.Chan[int] = gort.Chan(cap)
        out: list[tuple[Any, bool]] = []
        for _ in range(5):
            gort.go(lambda: out.append(c.recv_ok()))
        settle()
        assert len(c.recvq) == 5
        c.close()
        settle()
        check_invariants(c)
        return out

    assert gort.run(main) == [(None, False)] * 5


@pytest.mark.parametrize("cap", CAPS)
def test_close_makes_blocked_senders_raise(cap: int) -> None:
    def main() -> list[str]:
        c: gort.Chan[int] = gort.Chan(cap)
        for i in range(cap):
            c.send(i)
        out: list[str] = []

        def sender(v: int) -> None:
            try:
                c.send(v)
                out.append("sent")
            except gort.ClosedChannelError as e:
                out.append(str(e))

        for i in range(3):
            gort.go(sender, i)
        settle()
        assert len(c.sendq) == 3
        c.close()
        settle()
        assert [c.recv() for _ in range(cap)] == list(range(cap))
        return out

    assert gort.run(main) == ["send on closed channel"] * 3


@pytest.mark.parametrize("cap", CAPS)
def test_len_and_cap(cap: int) -> None:
    def main() -> None:
        c: gort.Chan[int] = gort.Chan(cap)
        assert c.cap == cap and len(c) == 0
        for i in range(cap):
            c.send(i)
            assert len(c) == i + 1
        check_invariants(c)

    gort.run(main)


@pytest.mark.parametrize("cap", [1, 2, 10])
def test_full_buffer_with_waiting_sender_keeps_fifo(cap: int) -> None:
    """A receive from a full buffer takes the head and moves the waiting sender's value in."""
    def main() -> list[int]:
        c: gort.Chan[int] = gort.Chan(cap)
        for i in range(cap):
            c.send(i)
        gort.go(c.send, cap)
        settle()  # one at a time: FIFO is the order in which the senders blocked
        gort.go(c.send, cap + 1)
        settle()
        check_invariants(c)
        return [c.recv() for _ in range(cap + 2)]  # type: ignore[misc]

    assert gort.run(main) == list(range(cap + 2))


def test_unbuffered_send_blocks_until_received() -> None:
    def main() -> list[str]:
        c: gort.Chan[int] = gort.Chan()
        log: list[str] = []

        def sender() -> None:
            log.append("send")
            c.send(1)
            log.append("sent")

        gort.go(sender)
        settle()
        log.append("recv")
        assert c.recv() == 1
        settle()
        return log

    assert gort.run(main) == ["send", "recv", "sent"]


@pytest.mark.parametrize("bad", [-1, -10])
def test_negative_capacity_is_a_value_error(bad: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        gort.Chan(bad)


def test_non_int_capacity_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="size must be an int"):
        gort.Chan(1.5)  # type: ignore[arg-type]


def test_sudog_queue_removal_keeps_links() -> None:
    from gort.runtime.chan import Sudog, WaitQ
    from gort.runtime.g import G

    q = WaitQ()
    c: Chan[int] = Chan()
    sgs = [Sudog(G(), i, c, False, 0) for i in range(4)]
    for sg in sgs:
        q.enqueue(sg)
    q.remove(sgs[1])
    q.remove(sgs[3])
    q.remove(sgs[3])  # removing twice is harmless
    assert [q.dequeue().elem, q.dequeue().elem, q.dequeue()] == [0, 2, None]  # type: ignore[union-attr]


# -- the same, written as gort's pytest plugin runs tests: each as goroutine 1 ----------


@pytest.fixture
def pipeline() -> gort.Chan[int]:
    out: gort.Chan[int] = gort.Chan(4)  # made inside the test's runtime

    def produce() -> None:
        for i in range(4):
            out.send(i * i)
        out.close()

    gort.go(produce)
    return out


@pytest.mark.gort(timeout=30)
def test_plugin_runs_the_fixture_and_the_test_as_goroutines(pipeline: gort.Chan[int]) -> None:
    assert gort.current_id() == 1
    assert list(pipeline) == [0, 1, 4, 9]


@pytest.mark.gort(timeout=30)
def test_plugin_select_with_timeout() -> None:
    ch: gort.Chan[int] = gort.Chan()
    i, _ = gort.select(ch.recv, gort.after(0.01).recv)
    assert i == 1
