"""asyncio's running loop per goroutine (no Go analogue: Go has no event loops to host).

CPython keeps asyncio's thread state in the OS thread: the running loop (the
thread state's dict, ``__asyncio_running_event_loop__``, read through a
one-entry cache keyed by the thread state's id in ``_asyncio``'s
``get_running_loop``, 3.11-3.13; the thread state itself on 3.14), the
async generator hooks (``sys.set_asyncgen_hooks``) and the coroutine origin
tracking depth. Goroutines of one M share that thread, so a goroutine
preempted or parked inside ``asyncio.run`` left its loop "running" for every
other goroutine: a second ``asyncio.run`` raised "cannot be called from a
running event loop", ``asyncio.get_running_loop()`` answered with another
goroutine's loop, a ``Future()`` made without a loop bound to it, and async
generators made elsewhere registered with its hooks.

Under gort these are per goroutine. A goroutine that sets a running loop
(``asyncio.events._set_running_loop``, which every loop's ``run_forever``
calls; patched here, ``patch``) becomes an owner: ``G.aio`` holds a
``LoopState``, and a turn-end hook (``m.set_turn_hook``, "aio") is set on the
M. At the end of each of its turns (the slow path of ``proc.schedule``,
before another goroutine runs) ``LoopState.leave`` saves the thread's
running loop, hooks and depth into the state and puts back the run's base
(what the thread had when the run started, ``install``); when the owner runs
again (``proc.schedule``, right after its switch back) ``LoopState.enter``
puts its own state on the thread again and sets the hook for the new turn.
The original setter writes the thread state, and its cache with it, so every
reader, C (``Future()`` without a loop, ``current_task``) or Python, sees the
running goroutine's loop. A goroutine stays an owner until a turn ends with
no loop running and the base hooks back (``run_forever`` resets them just
after the loop), or it dies.

Cost: nothing for a goroutine that never ran a loop. The turn-end hook lives
in ``M.armed``, the field every fast path (``proc.schedule``'s, the C core's
park and goexit) already tests for the preemption hook: an owner's turns
take the slow path, nobody else's do, and ``proc.schedule`` tests ``G.aio``
only on its slow path. An owner pays for its turns: the swaps (three C setters each
way) and the slow path (the C core's park declines while ``M.armed`` is set); measured
with callgrind, a channel round trip with an owner costs 40,516 instructions against
23,091 between two plain goroutines (docs/design.md). Rejected: a test of the G
on every switch (pure and C paths: a load and a branch on the hottest path for a
rare case); ``greenlet.settrace`` while any loop runs (a Python call on every
switch of every goroutine meanwhile); patching the Python getters only
(``_asyncio``'s C functions read the thread state directly: a loop-less
``Future()`` or ``asyncio.current_task()`` would still see the wrong loop);
keeping the running loop in a ContextVar (greenlet swaps contexts for free,
but nothing in C reads it).

Limits: the base is the thread's state at the run's start, so goroutines
that run no loop see that (no loop, unless gort.run was called from inside a
running loop: then they are inside it, as plain code called from a coroutine
is). A loop's ``run_forever`` sets the hooks a statement before it sets the
running loop (and resets them a statement after clearing it); a goroutine
switched out between the two shows the loop's async generator hooks to the
others for one turn. A loop set through a setter bound before ``import
gort`` (``from asyncio.events import _set_running_loop`` in a module loaded
earlier: uvloop binds its own) is the thread's, as before. The event loop
*policy*'s current loop (``asyncio.set_event_loop``) is kept in a
``threading.local``: per goroutine when asyncio was imported after gort
(threadlock.local), per thread before. A goroutine abandoned at a run's end
inside a loop keeps that loop "running" (``loop.is_running()``), never on
the thread: after the run, the thread's ``asyncio.run`` works.
"""

from __future__ import annotations

import functools
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from . import abandon
from . import sched as _sched
from .g import G, Gstatus
from .m import set_turn_hook
from .sched import Sched

_get_ident = threading.get_ident
_get_hooks = sys.get_asyncgen_hooks
_set_hooks = sys.set_asyncgen_hooks
_get_depth = sys.get_coroutine_origin_tracking_depth
_set_depth = sys.set_coroutine_origin_tracking_depth

# asyncio.events' own setter and getter (``_asyncio``'s C functions), once patched.
_orig_set: Callable[[Any], None] | None = None
_orig_get: Callable[[], Any] | None = None


class Base:
    """The thread's asyncio state when the run started: what a goroutine with no loop sees."""

    __slots__ = ("depth", "hooks", "loop", "used")

    def __init__(self) -> None:
        self.loop = _orig_get() if _orig_get is not None else None
        self.hooks: tuple[Any, Any] = tuple(_get_hooks())  # type: ignore[assignment]
        self.depth = _get_depth()
        self.used = False  # a goroutine ran a loop in this run

    def put(self) -> None:
        if _orig_set is not None:
            _orig_set(self.loop)
        _set_hooks(*self.hooks)
        _set_depth(self.depth)


class LoopState:
    """One goroutine's asyncio thread state, kept while another goroutine runs (G.aio)."""

    __slots__ = ("depth", "gp", "hooks", "loop", "s")

    def __init__(self, s: Sched, gp: G) -> None:
        self.s = s
        self.gp = gp
        self.loop: Any = None
        self.hooks: tuple[Any, Any] = (None, None)
        self.depth = 0

    def leave(self) -> None:
        """The turn-end hook: keep the thread's state for gp, put the base back."""
        s = self.s
        set_turn_hook(s.m0, "aio", None)
        assert _orig_get is not None
        assert _orig_set is not None
        base: Base = s.aio
        self.loop = _orig_get()
        self.hooks = tuple(_get_hooks())  # type: ignore[assignment]
        self.depth = _get_depth()
        gp = self.gp
        done = gp.status is Gstatus.DEAD or (
            self.loop is None and self.depth == base.depth
            and self.hooks[0] is base.hooks[0] and self.hooks[1] is base.hooks[1])
        if done and gp.aio is self:
            gp.aio = None  # no loop left: an owner no more
        _orig_set(base.loop)
        _set_hooks(*base.hooks)
        if self.depth != base.depth:
            _set_depth(base.depth)

    def enter(self) -> None:
        """gp runs again (proc.schedule, after its switch back): its state on the thread."""
        s = self.s
        gp = self.gp
        if abandon.reaping or s.closing or s.m0.curg is not gp or gp.aio is not self:
            return  # released at a run's end, never to run: the thread is not its
        assert _orig_set is not None
        _orig_set(self.loop)
        _set_hooks(*self.hooks)
        if self.depth != s.aio.depth:  # (debug mode's origin tracking; usually the base)
            _set_depth(self.depth)
        set_turn_hook(s.m0, "aio", self.leave)


def set_running_loop(loop: Any) -> None:
    """asyncio.events._set_running_loop under gort: the running goroutine's (see the essay)."""
    assert _orig_set is not None
    s = _sched.current
    if s is None or s.closing or s.aio is None or s.m0.tid != _get_ident():
        if not abandon.reaping:  # an abandoned goroutine's unwinding: not the thread's
            _orig_set(loop)
        return
    _orig_set(loop)
    gp = s.m0.curg
    if loop is None or gp is None or gp.aio is not None:
        return  # an owner stays one until its turn ends with no loop (LoopState.leave)
    gp.aio = st = LoopState(s, gp)
    s.aio.used = True
    set_turn_hook(s.m0, "aio", st.leave)


def install(s: Sched) -> None:
    """At a run's start: the thread's base state, put back at teardown if a goroutine's
    was left on the thread (one that set a loop by hand and returned, say)."""
    base = s.aio = Base()
    s.closers.append(functools.partial(_restore, base))


def _restore(base: Base) -> None:
    if base.used:
        base.put()


# -- patching asyncio ---------------------------------------------------------------


def patch() -> None:
    """At ``import gort``: asyncio.events' setter replaced now if asyncio is loaded, else
    as soon as asyncio.events is (a one-shot finder at the front of sys.meta_path, which
    costs every other import one call that returns None)."""
    ev = sys.modules.get("asyncio.events")
    if ev is not None and hasattr(ev, "_set_running_loop"):
        _patch_events(ev)
    else:
        after_import("asyncio.events", _patch_events)


def _patch_events(ev: ModuleType) -> None:
    global _orig_set, _orig_get
    cur = getattr(ev, "_set_running_loop")  # noqa: B009 - typeshed has no private names
    if cur is set_running_loop:
        return
    _orig_set = cur
    _orig_get = getattr(ev, "_get_running_loop")  # noqa: B009
    setattr(ev, "_set_running_loop", set_running_loop)  # noqa: B010
    pkg = sys.modules.get("asyncio")
    if pkg is not None and getattr(pkg, "_set_running_loop", None) is cur:
        setattr(pkg, "_set_running_loop", set_running_loop)  # noqa: B010 (asyncio/__init__)


def after_import(name: str, then: Callable[[ModuleType], None]) -> None:
    """Call ``then(module)`` once module ``name`` (not imported yet) has been executed by
    its first import (an ``AfterImport`` finder at the front of sys.meta_path, which costs
    every other import one call that returns None, until that import)."""
    if not any(isinstance(f, AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, AfterImport(name, then))


class AfterImport:
    """Finds nothing; on module ``name``, wraps the real loader's exec_module to patch the
    module once it has run (asyncio.events: its last statements import ``_asyncio``'s C
    setter), then leaves sys.meta_path."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, name: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec: importlib.machinery.ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None:
            return None
        loader: Any = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        then = self.then

        def exec_module(module: ModuleType) -> None:
            run(module)
            then(module)

        loader.exec_module = exec_module
        return spec
