"""Model-based test: random channel programs against a sequential model of Go's semantics.

Each step starts one goroutine doing one operation (send, receive, close,
select) on a few channels, then lets every runnable goroutine run. The model
predicts, for every operation so far, whether it is still blocked or what it
returned (value and ok, "panic" for Go's panics). For a select over several
ready cases the runtime picks at random: the model accepts any ready case and
follows the one taken; a blocked select enqueues its cases in a random order,
which the model reads from the real queues.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import gort

from .conftest import settle

CAPS = st.sampled_from([0, 1, 2])
NCH = 3


@dataclass
class Waiter:
    op: int
    kind: str  # "send" | "recv"
    value: Any = None
    select: Select | None = None
    case: int = 0


@dataclass
class Select:
    done: bool = False
    waiters: list[tuple[int, Waiter]] = field(default_factory=list)


@dataclass
class MChan:
    cap: int
    buf: deque[Any] = field(default_factory=deque)
    closed: bool = False
    recvq: deque[Waiter] = field(default_factory=deque)
    sendq: deque[Waiter] = field(default_factory=deque)

    def first(self, q: deque[Waiter]) -> Waiter | None:
        while q:
            w = q[0]
            if w.select is not None and w.select.done:
                q.popleft()
                continue
            return w
        return None


class ChannelModel(RuleBasedStateMachine):
    """Drives the real runtime from the main goroutine and a model side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.real: list[gort.Chan[Any]] = []
        self.model: list[MChan] = []
        self.results: dict[int, Any] = {}  # op -> what the goroutine reported
        self.expect: dict[int, Any] = {}  # op -> what the model predicts (absent: blocked)
        self.nops = 0
        self.pending_select: dict[int, tuple[Select, list[tuple[str, int, Any]]]] = {}

    @initialize(caps=st.lists(CAPS, min_size=NCH, max_size=NCH))
    def make(self, caps: list[int]) -> None:
        self.real = [gort.Chan(c) for c in caps]
        self.model = [MChan(c) for c in caps]

    # -- model transitions -------------------------------------------------------

    def _complete(self, w: Waiter, result: Any) -> None:
        if w.select is not None:
            w.select.done = True
            if result == "panic":
                self.expect[w.op] = "panic"
            else:  # a select's send case returns (index, None)
                self.expect[w.op] = (w.case, None if result == "sent" else result)
        else:
            self.expect[w.op] = result

    def m_send(self, ch: int, v: Any, op: int) -> Any:
        """Return the send's result if it completes now, else None (it blocks)."""
        c = self.model[ch]
        if c.closed:
            return "panic"
        r = c.first(c.recvq)
        if r is not None:
            c.recvq.popleft()
            self._complete(r, (v, True))
            return "sent"
        if len(c.buf) < c.cap:
            c.buf.append(v)
            return "sent"
        return None

    def m_recv(self, ch: int) -> Any:
        c = self.model[ch]
        s = c.first(c.sendq)
        if s is not None:
            c.sendq.popleft()
            if c.cap == 0:
                v = s.value
            else:
                v = c.buf.popleft()
                c.buf.append(s.value)
            self._complete(s, "sent")
            return (v, True)
        if c.buf:
            return (c.buf.popleft(), True)
        if c.closed:
            return (None, False)
        return None

    def ready(self, kind: str, ch: int) -> bool:
        c = self.model[ch]
        if kind == "send":
            return c.closed or len(c.buf) < c.cap or c.first(c.recvq) is not None
        return bool(c.buf) or c.closed or c.first(c.sendq) is not None

    # -- rules -------------------------------------------------------------------

    def _spawn(self, fn: Any) -> int:
        op = self.nops
        self.nops += 1

        def body() -> None:
            try:
                self.results[op] = fn()
            except gort.ClosedChannelError:
                self.results[op] = "panic"

        gort.go(body)
        return op

    @rule(ch=st.integers(0, NCH - 1), v=st.integers(0, 99))
    def send(self, ch: int, v: int) -> None:
        op = self._spawn(lambda: (self.real[ch].send(v), "sent")[1])
        r = self.m_send(ch, v, op)
        if r is None:
            self.model[ch].sendq.append(Waiter(op, "send", v))
        else:
            self.expect[op] = r
        settle()

    @rule(ch=st.integers(0, NCH - 1))
    def recv(self, ch: int) -> None:
        op = self._spawn(self.real[ch].recv_ok)
        r = self.m_recv(ch)
        if r is None:
            self.model[ch].recvq.append(Waiter(op, "recv"))
        else:
            self.expect[op] = r
        settle()

    @rule(ch=st.integers(0, NCH - 1))
    def close(self, ch: int) -> None:
        op = self._spawn(lambda: (self.real[ch].close(), "closed")[1])
        c = self.model[ch]
        if c.closed:
            self.expect[op] = "panic"
        else:
            c.closed = True
            self.expect[op] = "closed"
            while (r := c.first(c.recvq)) is not None:
                c.recvq.popleft()
                self._complete(r, (None, False))
            while (s := c.first(c.sendq)) is not None:
                c.sendq.popleft()
                self._complete(s, "panic")
        settle()

    @rule(cases=st.lists(st.tuples(st.sampled_from(["send", "recv"]),
                                   st.integers(0, NCH - 1), st.integers(100, 199)),
                         min_size=1, max_size=3),
          dflt=st.booleans())
    def select(self, cases: list[tuple[str, int, int]], dflt: bool) -> None:
        real_cases: list[Any] = [(self.real[ch].send, v) if k == "send" else
                                 self.real[ch].recv_ok for k, ch, v in cases]
        if dflt:
            real_cases.append(gort.default)
        op = self._spawn(lambda: gort.select(*real_cases))
        ready = [i for i, (k, ch, _v) in enumerate(cases) if self.ready(k, ch)]
        if not ready and dflt:
            self.expect[op] = (len(cases), None)
            settle()
            return
        if not ready:
            settle()
            # The runtime enqueues a blocked select's cases in a random order (Go's
            # pollorder); where two cases share a queue, follow the order it chose: its
            # sudogs are the last ones on each real queue.
            sel = Select()
            queues: dict[tuple[str, int], list[int]] = {}
            for i, (k, ch, _v) in enumerate(cases):
                queues.setdefault((k, ch), []).append(i)
            for (k, ch), idxs in queues.items():
                rq = self.real[ch].sendq if k == "send" else self.real[ch].recvq
                real_order: list[int] = []
                sg = rq.last
                for _ in idxs:
                    assert sg is not None and sg.is_select
                    real_order.append(sg.index)
                    sg = sg.prev
                assert sorted(real_order) == idxs, (real_order, idxs)
                mq = self.model[ch].sendq if k == "send" else self.model[ch].recvq
                for i in reversed(real_order):
                    mq.append(Waiter(op, k, cases[i][2], sel, i))
            return
        # Several may be ready: let the runtime choose, then check it chose a ready one.
        settle()
        got = self.results.get(op)
        assert got is not None, "a select with a ready case blocked"
        idx = got[0] if not (isinstance(got, str)) else None
        if got == "panic":
            assert any(cases[i][0] == "send" and self.model[cases[i][1]].closed for i in ready)
            self.expect[op] = "panic"
            return
        assert idx in ready, (idx, ready)
        k, ch, v = cases[idx]
        if k == "send":
            r = self.m_send(ch, v, op)
            self.expect[op] = (idx, None) if r == "sent" else r
        else:
            self.expect[op] = (idx, self.m_recv(ch))

    @invariant()
    def outcomes_match_the_model(self) -> None:
        if not self.real:
            return
        assert self.results == self.expect
        for rc, mc in zip(self.real, self.model, strict=True):
            assert len(rc) == len(mc.buf)
            assert list(rc.buf) == list(mc.buf)


def test_channels_match_the_sequential_model() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    def main() -> None:
        run_state_machine_as_test(ChannelModel, settings=settings(
            max_examples=150, stateful_step_count=25, deadline=None))

    gort.run(main)
