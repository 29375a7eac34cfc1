"""select (Go: runtime/select.go selectgo).

Three passes, as Go's:
  1. poll every case; if any can proceed, pick one uniformly at random among
     the ready ones (from the Sched's seedable source) and do it;
     otherwise take ``default`` if there is one;
  2. enqueue a sudog on every case's channel, in a random order (Go's
     pollorder: a waker takes the first sudog on its queue, so duplicate
     cases on one channel would otherwise always complete the first), and park;
  3. once woken by the one channel that completed, dequeue the sudogs left on
     the other channels (Go's "pass 3 - dequeue from unsuccessful chans").

Only one sudog of a select can win: wakers skip sudogs whose G is already
``selectdone`` (see chan.WaitQ.dequeue).

Picking among the ready cases (pass 1 collects them all) is uniform, as Go's
shuffled poll order makes it, at the cost of one readiness check per case.
"""

from __future__ import annotations

from typing import Any, Final

from . import proc
from .cgocall import cgocallback
from .chan import Chan, Sudog, SudogList
from .error import ClosedChannelError, Finalizing, NotInGoroutine
from .g import Gstatus, WaitReason

_RECV: Final = 0
_RECV_OK: Final = 1
_SEND: Final = 2

_recv = Chan.recv
_recv_ok = Chan.recv_ok
_send = Chan.send


class _Default:
    """The ``default`` case of a select: taken when no other case can proceed now."""

    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "gort.default"


default: Final = _Default()

_CASE_HELP = "a case is ch.recv, ch.recv_ok, (ch.send, value) or gort.default"


def _parse(cases: tuple[Any, ...]) -> tuple[list[tuple[int, Chan[Any], Any]], int]:
    parsed: list[tuple[int, Chan[Any], Any]] = []
    dflt = -1
    for i, case in enumerate(cases):
        if case is default:
            if dflt >= 0:
                raise ValueError(f"gort.select: cases {dflt} and {i} are both default; "
                                 "a select has at most one default")
            dflt = i
            parsed.append((-1, None, None))  # type: ignore[arg-type]
            continue
        value = None
        fn = case
        if type(case) is tuple:
            if len(case) != 2:
                raise TypeError(f"gort.select: case {i} is a tuple of {len(case)}; a send "
                                f"case is (ch.send, value); {_CASE_HELP}")
            fn, value = case
        ch = getattr(fn, "__self__", None)
        func = getattr(fn, "__func__", None)
        if not isinstance(ch, Chan):
            raise TypeError(f"gort.select: case {i} is {case!r}; {_CASE_HELP}")
        if func is _send and type(case) is tuple:
            kind = _SEND
        elif func is _recv and type(case) is not tuple:
            kind = _RECV
        elif func is _recv_ok and type(case) is not tuple:
            kind = _RECV_OK
        else:
            raise TypeError(f"gort.select: case {i} is {case!r}; {_CASE_HELP}")
        parsed.append((kind, ch, value))
    return parsed, dflt


def select_at_exit(cases: tuple[Any, ...]) -> tuple[int, Any]:
    """A select with ``default`` from a finalizer run at interpreter exit.

    Every goroutine is gone then (abandoned: never resumed), so only a
    channel's own state can complete a case: a send into a buffer with room, a
    receive of a buffered value or from a closed channel. The first such case
    in order wins (no runtime, so no seeded source to pick with); otherwise
    ``default``: a value nobody can receive any more is not delivered, and not
    an error, as in the same program under threads.
    """
    parsed, dflt = _parse(cases)
    for i, (kind, c, v) in enumerate(parsed):
        if kind == _SEND:
            if c.try_send_alone(v):
                return i, None
        elif kind >= 0:
            got = c.try_recv_alone()
            if got is not None:
                return i, (got if kind == _RECV_OK else got[0])
    return dflt, None


def selectgo(cases: tuple[Any, ...]) -> tuple[int, Any]:
    """Run a select; return (index of the chosen case, its value)."""
    try:
        gp = proc.getg()
    except NotInGoroutine as e:
        if any(case is default for case in cases):
            return cgocallback(e.s, selectgo, cases)  # type: ignore[no-any-return]
        raise
    except Finalizing:
        if not any(case is default for case in cases):
            raise
        return select_at_exit(cases)
    if gp.preempt:
        proc.gopreempt_m(gp, False)
    parsed, dflt = _parse(cases)

    # Pass 1: find the ready cases, pick one uniformly.
    ready = [i for i, (kind, c, _v) in enumerate(parsed)
             if kind >= 0 and (c.can_send() if kind == _SEND else c.can_recv())]
    if ready:
        s = proc.running()
        assert s is not None
        i = ready[0] if len(ready) == 1 else ready[s.rand.randrange(len(ready))]
        kind, c, v = parsed[i]
        if kind == _SEND:
            if not c.try_send(v):
                raise AssertionError("selectgo: a ready send case would block")
            return i, None
        got = c.try_recv()
        assert got is not None, "selectgo: a ready receive case would block"
        return i, (got if kind == _RECV_OK else got[0])
    if dflt >= 0:
        return dflt, None
    if not parsed:
        proc.gopark(gp, WaitReason.SELECT_NO_CASES)  # never readied: counts toward deadlock
        raise AssertionError("selectgo: a select with no cases was woken")

    # Pass 2: wait on every case at once.
    gp.selectdone = False
    gp.param = None
    sgs = SudogList()
    order = list(range(len(parsed)))
    if len(order) > 1:
        # Go's pollorder: enqueue in a random order, so that cases on the same channel
        # (or any completed by one event) are picked uniformly once they become ready.
        s = proc.running()
        assert s is not None
        s.rand.shuffle(order)
    for i in order:
        kind, c, v = parsed[i]
        if kind < 0:
            continue
        sg = Sudog(gp, v if kind == _SEND else None, c, True, i)
        (c.sendq if kind == _SEND else c.recvq).enqueue(sg)
        sgs.append(sg)
    proc.gopark(gp, WaitReason.SELECT, Gstatus.WAITING, sgs)

    # Pass 3: the winner is in gp.param; take the others off their queues.
    won: Sudog = gp.param
    gp.param = None  # never left stale: it holds the sudog, and the sudog the value
    for sg in sgs:
        if sg is not won and sg.queued:
            sg.q.remove(sg)  # type: ignore[union-attr]
    kind = parsed[won.index][0]
    if kind == _SEND:
        if not won.success:
            raise ClosedChannelError("send on closed channel")
        return won.index, None
    if kind == _RECV_OK:
        return won.index, (won.elem, won.success)
    return won.index, won.elem


def _load_core(pure: Any) -> Any:
    """selectgo's C fast path (gort._core.setup_select) where the C core runs, else pure.

    The C selectgo parses the common cases and runs the three passes (the same draws
    from the Sched's random source, so a seeded run picks the same cases); anything
    else (bad input, a goroutine not running on the M, a preemption request, near the
    recursion limit) calls this module's selectgo, kept as ``__wrapped__``.
    """
    from .chan import CORE

    if CORE != "C":
        return pure
    from .. import _core  # type: ignore[attr-defined]

    fast = _core.setup_select({
        "selectgo": pure, "SudogList": SudogList, "SELECT": WaitReason.SELECT,
        "default": default, "try_send": Chan.try_send, "try_recv": Chan.try_recv,
        "WAITING": Gstatus.WAITING})
    for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(fast, attr, getattr(pure, attr))
    fast.__wrapped__ = pure
    return fast


selectgo = _load_core(selectgo)
