"""Machines: OS threads that run goroutines (Go: runtime2.go type m).

An M owns its thread's ``g0``, the scheduler greenlet that starts new
goroutine greenlets on a shallow C stack. A greenlet can never move to
another thread, so a G stays on the M whose thread first ran it.

Fields written by sysmon (another thread) are marked; everything else is
written only on the M's own thread.

sysmon's thread (``newosproc``) runs no callback of the program: a global
``sys.monitoring`` tool (3.12+), or a trace or profile function set on every
thread (``threading.settrace_all_threads``), would otherwise be fed gort's
frames there, and one that raises kills the thread (sysmon died at the
PY_START of its first frame). Such a thread enters CPython's "tracing" state
(``PyThreadState_EnterTracing``, which mutes every callback on the thread)
before its first Python frame starts: the thread's bootstrap is C only (a deque
draining a chain of maps over ctypes calls; no Python frame, so no event).
Rejected: leaving and entering the state from Python (each call is an
instrumented instruction whose callback could raise with the state
half-restored). gort.offload's workers start the same way and lift the state
for the program's own function only (``sys.call_tracing``, which restores it
even when the function raises): the program's callbacks see what it offloads,
nothing of gort's bookkeeping. (The 3.13 crash blamed on this in stop 19 was
abandon.py reading freed stack slots of the offloading goroutine: _held.)
stack.py's probe thread is not muted: it needs its own profile callback to run
(a raising global ``sys.monitoring`` callback there fails the probe after 5 s:
asynchronous preemption off, with a warning; never a hang).
"""

from __future__ import annotations

import _thread
import collections
import ctypes
import functools
import itertools
import operator
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenlet import greenlet

    from .g import G
    from .p import P


class M:
    """One OS thread that runs goroutines."""

    __slots__ = (
        "armed",
        "curg",
        "g0",
        "hop",
        "id",
        "is_main_thread",
        "locks",
        "p",
        "preempt_gen",
        "signal_pending",
        "tid",
        "turnend",
    )

    def __init__(self, mid: int) -> None:
        self.id = mid
        self.tid = threading.get_ident()
        self.is_main_thread = threading.current_thread() is threading.main_thread()
        self.g0: greenlet | None = None
        # The dead trampoline of the last switch into a child greenlet (proc.hop_to):
        # its parent link still names that child until the switch lands (proc.land).
        self.hop: greenlet | None = None
        self.curg: G | None = None
        self.p: P | None = None
        # > 0 while the runtime is in a section that must not be preempted.
        self.locks = 0
        # Go's mp.signalPending: set (by sysmon) before sending SIGURG, cleared by the
        # handler. A SIGURG arriving while it is clear was not sent by gort.
        self.signal_pending = False
        # Go's mp.preemptGen: count of preemption requests the handler has answered.
        self.preempt_gen = 0
        # What runs when the running G's turn ends (proc.schedule's slow path): None, or
        # the one hook in ``turnend``, or a call of each (``set_turn_hook``). Every fast
        # path (proc.schedule's, the C core's park and goexit) is taken only while it is
        # None, so a hook costs nothing to the goroutines that never set one.
        self.armed: Callable[[], None] | None = None
        # The hooks by owner: "preempt", the one-shot preemption hook's disarm
        # (preempt.py); "aio", asyncio's running loop put away (aio.py). Each removes
        # itself when it runs.
        self.turnend: dict[str, Callable[[], None]] = {}


def set_turn_hook(mp: M, key: str, fn: Callable[[], None] | None) -> None:
    """Set (fn) or remove (None) ``key``'s hook for the end of the running G's turn on mp,
    and recompute ``mp.armed`` (see M). Each hook must remove itself when it runs (it
    belongs to one turn; the owner sets it again when its G runs again)."""
    hooks = mp.turnend
    if fn is None:
        hooks.pop(key, None)
    else:
        hooks[key] = fn
    # One snapshot, taken by one C call: a signal's handler setting a hook between two
    # reads of the dict made the second fail (StopIteration from next(iter(...))).
    fns = tuple(hooks.values())
    if not fns:
        mp.armed = None
    elif len(fns) == 1:
        mp.armed = fns[0]
    else:
        mp.armed = functools.partial(_run_turn_hooks, fns)


def _run_turn_hooks(hooks: tuple[Callable[[], None], ...]) -> None:
    for fn in hooks:
        fn()


_api = ctypes.pythonapi
_tstate_get = _api.PyThreadState_Get
_tstate_get.restype = ctypes.c_void_p
_tstate_get.argtypes = []
_enter_tracing = _api.PyThreadState_EnterTracing
_enter_tracing.restype = None
_enter_tracing.argtypes = [ctypes.c_void_p]


def newosproc(fn: Callable[..., Any], *args: Any) -> int:
    """Start a bare thread running ``fn(*args)`` where no callback of the program runs
    (see the essay); return its ident (Go: newosproc). Not a threading.Thread:
    threading.enumerate() does not list it, threading.settrace's hooks never run on it."""
    mute = map(_enter_tracing, map(operator.call, [_tstate_get]))
    run = map(operator.call, [functools.partial(fn, *args)])
    boot: functools.partial[Any] = functools.partial(collections.deque,
                                                     itertools.chain(mute, run), 0)
    return _thread.start_new_thread(boot, ())
