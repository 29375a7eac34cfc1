"""select: Go's selectgo semantics (Go: chan_test.go TestSelect*, select.go)."""

from __future__ import annotations

import collections
from typing import Any

import pytest

import gort
from gort.runtime.select import selectgo

from ..conftest import settle


def test_uniform_choice_among_ready_cases() -> None:
    def main() -> collections.Counter[int]:
        chans: list[gort.Chan[int]] = [gort.Chan(1) for _ in range(4)]
        counts: collections.Counter[int] = collections.Counter()
        for _ in range(4000):
            for c in chans:
                if len(c) == 0:
                    c.send(1)
            i, v = gort.select(*(c.recv for c in chans))
            assert v == 1
            counts[i] += 1
        return counts

    counts = gort.run(main)
    assert set(counts) == {0, 1, 2, 3}
    for i in range(4):
        assert 850 <= counts[i] <= 1150, counts  # 1000 expected, ~6 sigma bounds


def test_default_taken_only_when_nothing_is_ready() -> None:
    def main() -> tuple[Any, ...]:
        c: gort.Chan[int] = gort.Chan(1)
        first = gort.select(c.recv, gort.default)
        c.send(3)
        second = gort.select(gort.default, c.recv)
        third = gort.select((c.send, 4), gort.default)
        return first, second, third, c.recv()

    assert gort.run(main) == ((1, None), (1, 3), (0, None), 4)


def test_blocking_select_wakes_on_any_case_and_dequeues_the_losers() -> None:
    def main() -> list[Any]:
        a: gort.Chan[int] = gort.Chan()
        b: gort.Chan[int] = gort.Chan()
        quit_: gort.Chan[None] = gort.Chan()
        got: list[Any] = []

        def selector() -> None:
            got.extend(gort.select(a.recv, b.recv_ok, quit_.recv) for _ in range(100))

        gort.go(selector)
        for i in range(50):
            settle()
            assert len(quit_.recvq) == 1, "a finished select left a sudog behind"
            a.send(i)
            b.send(i)
        settle()
        assert len(quit_.recvq) == 0 and len(a.recvq) == 0 and len(b.recvq) == 0
        return got

    got = gort.run(main)
    assert got[0::2] == [(0, i) for i in range(50)]
    assert got[1::2] == [(1, (i, True)) for i in range(50)]


def test_select_send_case_and_close_while_waiting() -> None:
    def main() -> list[Any]:
        a: gort.Chan[int] = gort.Chan()
        out: list[Any] = []

        def sender() -> None:
            try:
                gort.select((a.send, 1))
            except gort.ClosedChannelError as e:
                out.append(str(e))

        def receiver() -> None:
            out.append(gort.select(a.recv_ok))

        gort.go(sender)
        settle()
        assert a.recv() == 1
        gort.go(sender)
        settle()
        a.close()
        settle()
        a2: gort.Chan[int] = gort.Chan()
        a = a2
        gort.go(receiver)  # blocks in select, then woken by close
        settle()
        a2.close()
        settle()
        gort.go(receiver)  # finds the channel closed at once
        settle()
        return out

    assert gort.run(main) == ["send on closed channel", (0, (None, False)), (0, (None, False))]


def test_select_with_no_cases_blocks_forever_and_counts_toward_deadlock() -> None:
    with pytest.raises(gort.Deadlock) as ei:
        gort.run(lambda: gort.select())
    assert "[select (no cases)]" in ei.value.goroutines


@pytest.mark.parametrize(("cases", "err", "match"), [
    ((gort.default, gort.default), ValueError, "at most one default"),
    ((42,), TypeError, "case 0 is 42"),
    (((print, 1),), TypeError, "case 0"),
    (((1, 2, 3),), TypeError, "tuple of 3"),
])
def test_bad_cases_say_what_a_case_is(cases: tuple[Any, ...], err: type[Exception],
                                      match: str) -> None:
    def main() -> None:
        with pytest.raises(err, match=match):
            selectgo(cases)
        c: gort.Chan[int] = gort.Chan()
        with pytest.raises(TypeError, match="a case is"):
            gort.select((c.recv, 1))
        with pytest.raises(TypeError, match="a case is"):
            gort.select(c.send)

    gort.run(main)


def test_seeded_choices_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    def main() -> list[int]:
        chans: list[gort.Chan[int]] = [gort.Chan(1) for _ in range(3)]
        seq = []
        for _ in range(50):
            for c in chans:
                if len(c) == 0:
                    c.send(0)
            seq.append(gort.select(*(c.recv for c in chans))[0])
        return seq

    monkeypatch.setenv("GORT_SEED", "1234")
    first = gort.run(main)
    assert gort.run(main) == first
    monkeypatch.setenv("GORT_SEED", "99")
    assert gort.run(main) != first


def test_blocked_select_on_duplicate_channel_cases_picks_uniformly() -> None:
    """Issue 10: both cases become ready together (one receiver); each must be chosen."""

    def main() -> list[int]:
        c: gort.Chan[int] = gort.Chan()
        counts = [0, 0]
        for _ in range(400):
            got: gort.Chan[int] = gort.Chan(1)
            gort.go(lambda got=got: got.send(gort.select((c.send, 1), (c.send, 0))[0]))
            gort.gosched()  # the select blocks first...
            c.recv()  # ...then one receiver readies both cases at once
            counts[got.recv()] += 1  # type: ignore[index]
        return counts

    counts = gort.run(main)
    assert sum(counts) == 400
    # Binomial(400, 1/2): below 150 has probability < 1e-6.
    assert min(counts) > 150, counts
