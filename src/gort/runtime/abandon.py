"""Abandoned goroutines: never resumed, released without running their code (no Go analogue).

When a run ends (main returned, a goroutine panicked, a deadlock), Go exits
the process and its other goroutines simply stop existing. gort.run returns
to its caller instead, so the goroutines it abandons are greenlets suspended
in the middle of their code, and the caller's process lives on. The contract:
they are never resumed, teardown is quick whatever their code does, and
their memory is released.

What greenlet allows (greenlet 3.5, src/greenlet/PyGreenlet.cpp green_dealloc
and _green_dealloc_kill_started_non_main_greenlet, TGreenlet.cpp
deallocing_greenlet_in_thread and deactivate_and_free, TPythonState.cpp
tp_clear and did_finish):

- A suspended greenlet deallocated on its own, live, thread is killed by
  throwing GreenletExit into it: its frames resume and unwind, running every
  ``except``/``finally``/``with`` handler on the way. One that switches away
  instead of dying is reported ("GreenletExit did not kill") and leaked.
- Only a greenlet whose thread is dead, or one freed during interpreter
  finalization (Py_IsFinalizing, greenlet >= 3.2.6), is freed without
  running anything (``deactivate_and_free``: the saved C stack is dropped;
  before CPython 3.15 what its suspended frames reference is leaked). There
  is no API to do that to a greenlet of a live thread; gort's goroutines
  live on the thread that called gort.run, which lives on.

So a goroutine cannot be freed without resuming its frames. What gort does
instead is resume them only where that runs none of the program's code:

- ``bury`` (teardown) only records the run's goroutines: O(1), no switch, so
  gort.run returns at once whatever they do.
- ``reap`` releases a buried goroutine by throwing GreenletExit into it only
  if no frame of its stack is inside an exception handler's range (the
  code's exception table, at the frame's current instruction): the
  exception then unwinds every frame without executing a single bytecode of
  the program (zero-cost exceptions: a frame without a covering handler is
  popped). gort's runtime frames are exempt from the check: their handlers
  only restore bookkeeping and re-raise (an invariant of the package).
  Freeing the frames' locals runs their finalizers (``__del__``, weakref
  callbacks), as any garbage collection does; gort calls from those raise a
  clear RuntimeError (``reaping``).
- Generators, coroutines and async generators are frames of the goroutine's
  execution, not objects with finalizers: closing a suspended one runs its
  ``except``/``finally`` (a ``@contextmanager``'s ``finally`` is the with
  block's exit). Those the goroutine's frames alone keep alive (its locals,
  the stack items its frames hold: a with statement's bound ``__exit__``, a
  loop's iterator; objects kept the same way, reference cycles included: a
  generator holding the object that holds it; counted against reference
  counts as the collector's trial deletion does, ``_doomed_generators``)
  and their ``yield from``/``await`` delegates get the same handler-free
  copy of their code first, so their close (at the release, or when the
  collector finds the cycle) runs nothing. One held from anywhere else is not
  the goroutine's: it is closed as usual when the program drops it. Stack
  items are read up to the depth the compiler's stack-depth pass gives at
  the frame's instruction (symtab.stack_depths), never through the stack
  pointer (stale in a frame calling C). About 4 us a goroutine (12 -> 16 us
  each, 20 000 goroutines in try/finally, measured around abandon.reap());
  the cycle search adds about 4 us more (22.8 -> 26.7 us each, median of 3,
  20 000 goroutines in try/finally holding a list of shared state, loaded
  machine): objects with few references from elsewhere (``CYCLE_EXCESS``)
  are walked, 64 at most; a channel or lock many goroutines share is not.
- A generator or coroutine resumed by a C function of a call (``next(g)``,
  ``g.send()``, ``coro.send()``, ``list(g)``) passes the exception on (C
  iteration does, StopIteration aside): such stacks are released, not kept
  (+1.27 MB a run before for 1000 goroutines).
- runpy's ``exec`` of a script (``gort run``'s main goroutine, ``python -m``) is C
  between ``_run_code`` and the script's frame that passes every exception on: counted
  as propagating (before, the script's goroutine was kept for good, and its globals
  with it: a finalizer in a reference cycle never ran at exit).
- A goroutine stopped inside a ``try``/``with`` block would run program code
  when unwound. Each such frame (outside gort's runtime) is first pointed at
  a copy of its code with an empty exception table (``_strip_handlers``:
  ``code.replace(co_exceptiontable=b"")``, made once per code object, and the
  frame's instruction pointer moved to the same offset of the copy, through
  ctypes at the interpreter frame's code and instruction-pointer slots, the
  same offsets in 3.11-3.13 and checked against the frame before any write):
  the exception then finds no handler in it and pops it, as for a frame
  outside any ``try``. Same bytecode, so every offset, stack depth and local
  slot stays valid; the function itself keeps its handlers (only the
  abandoned frame runs the copy). A goroutine stopped inside a child greenlet
  of its own is unwound child first (each greenlet of the chain gets the
  reaper as its parent, so dying switches back here, not into the goroutine).
- What the released frames held is finalized as they go, or by the young-
  generation collection reap runs when it released frames inside try/with
  blocks (their resources often sit in cycles), with ResourceWarning ignored
  meanwhile: the runtime abandoned those sockets and files, not the program
  (an object a long run promoted to the oldest generation can still warn when
  a later full collection finds it).
- Kept, never resumed, for the life of the process (counted in ``kept``):
  only a stack with C code between two frames that would swallow the
  exception and return into program code (a finalizer's caller, CPython's
  dealloc; a C callback that is not plain call machinery), a child greenlet
  that does not lead back to the goroutine's own, and any stack when the
  frame layout probe failed (then try/with frames are kept as before).
- ``reap`` runs for a bounded batch when gort.run returns, and for the rest
  when the next runtime starts on the thread: 10^5 goroutines take about a
  second to release (a munmap of each greenlet's frame stack dominates),
  which gort.run's return must not pay. The implicit runtime reaps the same
  bound when the script's top level ends (its atexit teardown), so that the
  abandoned frames stop holding the script's globals, whose objects are then
  finalized at exit as under ``gort run``; an ending by another goroutine
  reaps the same bound and unwinds the script itself quietly (``quiet_unwind``,
  rt0.implicit_end), then exits as the interpreter does, finalizing it too.
- At process exit the interpreter's final cyclic collections walk every
  buried goroutine's greenlet and frames: 0.54 s for 10^5 (median of 3,
  tests/testprog/abandon_many.py), ten times Go's exit. With at least
  ``EXIT_FREEZE_AT`` goroutines still buried, gort's last atexit callback
  collects the young generations (the garbage the program made lately, whose
  finalizers then run as usual) and calls ``gc.freeze()``: the final
  collections skip the old objects, and exit takes 0.06 s. The cost is
  that cyclic garbage older than that is not finalized at exit, which CPython
  does not promise anyway (``__del__`` "is not guaranteed to be called for
  objects that still exist when the interpreter exits"); below the
  threshold (finalization then takes under 15 ms) exit is untouched.
- Both lists are made immortal (an extra reference never dropped): at
  interpreter exit a greenlet older than 3.2.6 would throw GreenletExit into
  whatever is still buried, resuming program code at exit.

Measured (``tests/testprog/abandon_rss.py 50 1000 SHAPE``, RSS after 50 runs of
1000 abandoned goroutines): inside try/finally 418 MB before (every goroutine
kept), 26 MB now, flat from about run 30 as for goroutines outside handlers
(32 MB); inside ``with`` 25 MB; inside a child greenlet 724 MB before, 28 MB now.
Inside a ``@contextmanager`` with block, next()/send()-driven generators and
coroutines, a for loop over a suspended generator: 24-26 MB after 30 runs, no
handler run (before: every contextmanager ``finally`` ran; next/send stacks kept).

Rejected: a trace function that refuses each handler instruction (CPython drops
a trace function that raises, so a second handler in the same frame ran: a
nested ``try`` in ``while True`` looped forever); ``frame.clear()`` (refused
for a frame that is executing, which a suspended greenlet's frames are);
emptying the code object's own exception table for the unwinding (every other
frame and call of that function, finalizers run by the unwinding included,
would lose its handlers meanwhile).
Rejected: throwing GreenletExit into every goroutine at teardown (the old
design): it runs the abandoned code (a ``try: ... except BaseException:``
loop never dies, teardown hangs), and costs about 10 us a goroutine (1 s for
10^5) on gort.run's return. Keeping every greenlet forever: 6-7 KiB a
goroutine per run, RSS grows without bound in a process calling gort.run
repeatedly. Calling greenlet's internal murder_in_place through ctypes: a
private C++ ABI, and it leaks what the frames reference anyway.
"""

from __future__ import annotations

import atexit
import ctypes
import dis
import functools
import gc
import runpy
import signal
import sys
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from types import (
    AsyncGeneratorType,
    CodeType,
    CoroutineType,
    FrameType,
    FunctionType,
    GeneratorType,
    ModuleType,
)
from typing import Any, Final

from greenlet import GreenletExit, getcurrent, greenlet
from greenlet import error as greenlet_error

from .g import G, Gstatus
from .stack import FrameLayout, frame_layout, thread_tracing_now
from .symtab import (
    call_machinery_only,
    handler_depth,
    instr_start,
    instructions,
    live_depth,
    loud_handler_ranges,
    nlocalsplus,
    op_at,
    py_decref,
    py_incref,
    slot_objects,
    with_statement_call,
)
from .traceback import is_runtime_file

REAP_AT_RETURN = 1000
"""Goroutines released when gort.run returns (about 10 ms); the rest wait for the next start."""
_SIGURG: Final = getattr(signal, "SIGURG", -1)
# signal's own functions: sigqueue patches the module's names while a run lasts.
_getsignal: Final = signal.getsignal
_setsignal: Final = signal.signal

EXIT_FREEZE_AT = 5000
"""Buried goroutines from which process exit skips the final collection of old objects."""


class _Grave:
    """The goroutines of one ended run, on the thread that ran them."""

    __slots__ = ("g0", "gs", "keep", "tid")

    def __init__(self, gs: list[G], g0: greenlet | None, keep: tuple[greenlet | None, ...],
                 tid: int) -> None:
        self.tid = tid
        self.gs = gs  # released last first
        self.g0 = g0
        self.keep = keep


_graves: list[_Grave] = []
# Greenlets that unwinding would make run program code even with their handlers stripped
# (C between frames that swallows the exception): (goroutine's greenlet, the child
# greenlet it stopped in, or None). Never resumed; freed with the process.
_kept: list[tuple[greenlet, greenlet | None]] = []
for _immortal in (_graves, _kept):
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(_immortal))

reaping = False
"""True while ``reap`` releases goroutines (a finalizer calling gort then gets an error)."""

before_unwind: Callable[[G, FrameType], None] | None = None
"""Set by threadlock: called, as ``reap`` releases a goroutine, for each of its program
frames that is inside a handler's range (a ``with`` block's body among them), before
anything of it is stripped: the thread locks its ``with`` blocks hold are let go there."""


def bury(gs: list[G], g0: greenlet | None, keep: tuple[greenlet | None, ...], tid: int,
         first: G | None = None) -> None:
    """Record goroutines (and their M's g0) that ran on thread ``tid`` for ``reap``.

    ``keep``: greenlets among them that are not the run's to release. ``first``:
    one of gs released before the others (the finalizer goroutine, which may hold
    a cyclic collection in progress: no other collection runs in the process until
    it is released).
    """
    if first is not None and first in gs:  # identity: a C loop, ~1 ms for 10^5
        gs.remove(first)
        gs.append(first)  # reap pops from the end
    _graves.append(_Grave(gs, g0, keep, tid))


def _exit_freeze() -> None:
    # Registered when gort is imported, so it runs after the atexit callbacks registered
    # later: the implicit runtime's teardown (rt0) and, usually, the program's own.
    if len(_kept) + sum(len(grave.gs) for grave in _graves) >= EXIT_FREEZE_AT:
        gc.collect(1)
        gc.freeze()


atexit.register(_exit_freeze)


def kept() -> int:
    """How many abandoned goroutines are kept for the life of the process (never resumed)."""
    return len(_kept)


def reap(limit: int | None = None) -> int:
    """Release up to ``limit`` (None: all) buried goroutines of this thread; return how many.

    Raises whatever a goroutine's unwinding raised other than GreenletExit (an
    asynchronous exception such as KeyboardInterrupt that arrived meanwhile),
    after taking that goroutine off the list.
    """
    global reaping
    tid = threading.get_ident()
    me = getcurrent()
    done = 0
    tables: dict[CodeType, tuple[tuple[int, int], ...]] = {}
    if not _graves:
        return 0
    trace = sys.gettrace()
    unraisable = sys.unraisablehook
    stripped_before = _stripped_releases[0]
    # Every change below is made inside the with and the try, and undone by their ends:
    # an exception a signal handler raises between two of them (the program's handlers
    # run raw at a run's start and end) left reaping set, and every later gort.run
    # refused to start ("called from a finalizer while gort releases ...").
    held: list[tuple[int, FrameType | None]] = []
    handlers: dict[int, Any] = {}
    with warnings.catch_warnings():
        try:
            reaping = True
            _hold_signals(handlers, held)
            # The GreenletExit thrown into a goroutine stopped in a finalizer (the
            # finalizer goroutine's collection, a weakref callback) is reported by the C
            # code that called it ("Exception ignored in ...") and swallowed: the
            # release, not the program's error.
            sys.unraisablehook = functools.partial(_quiet_unraisable, unraisable)
            # The goroutines' resources (a socket, a file) are closed by their finalizers
            # as the frames go: the runtime abandoned them, not the program, so no
            # ResourceWarning ("unclosed socket"), as none is given for what a process
            # holds when it exits.
            warnings.simplefilter("ignore", ResourceWarning)
            for grave in list(_graves):
                if grave.tid != tid:
                    if grave.g0 is not None and grave.g0.dead:
                        # Its thread is gone: greenlet has freed them in place without running
                        # anything (reading .dead does it), so dropping them is safe.
                        for gp in grave.gs:
                            if gp.gr is not None:
                                gp.gr.dead  # noqa: B018 (frees it: see above)
                        _graves.remove(grave)
                    continue
                while grave.gs:
                    if limit is not None and done >= limit:
                        return done
                    gp = grave.gs.pop()
                    done += 1
                    _forget_wait(gp)
                    _release(gp.gr, gp.resume, grave.keep, me, tables, gp)
                    # What it was started with goes now, while reaping is set (finalizers).
                    gp.fn = None
                    gp.args = ()
                    gp.kwargs = {}
                    del gp
                if grave.g0 is not None:
                    g0, grave.g0 = grave.g0, None
                    _release(g0, None, grave.keep, me, tables)
                _graves.remove(grave)
            return done
        finally:
            try:
                if _stripped_releases[0] != stripped_before:
                    # Frames that ran inside try/with blocks often hold their resources in
                    # cycles (an exception's traceback, a connection and its reader): found
                    # now, in the quiet window, not by a later collection that would warn.
                    # The young generations only: a full collection took 160 ms on a
                    # 200 000-object heap (gort.run's return: 3-32 ms this way, loaded); what
                    # a long run promoted to the oldest one may still warn when collected later.
                    from . import mfinal  # a module above this one (it imports proc)

                    c0 = gc.get_count()[0]
                    mfinal.young_collected(c0, gc.collect(1))
            finally:
                reaping = False
                if isinstance(sys.unraisablehook, functools.partial) \
                        and sys.unraisablehook.func is _quiet_unraisable:
                    sys.unraisablehook = unraisable
                if sys.gettrace() is not trace:
                    # An unwinding that passed through a 3.11 trace hook made CPython
                    # drop the thread's trace function; give the program's back.
                    sys.settrace(trace)
                run_held_signals(handlers, held)


def _hold_signals(handlers: dict[int, Any], held: list[tuple[int, FrameType | None]]) -> None:
    """Hold off the program's Python-level signal handlers while reap releases goroutines
    (main thread only: only it has them). CPython runs a handler at the next check of
    whatever runs, and that is an abandoned goroutine's code once reap throws into it:
    the program's handler ran inside a goroutine being released, its exception went
    into that unwinding. Each signal is recorded in ``held`` instead (run_held_signals
    runs them); ``handlers`` gets each replaced handler before it is replaced (an
    exception between two replacements leaves nothing to restore unrecorded)."""
    if threading.current_thread() is not threading.main_thread():
        return
    hold = _held_signal(held)
    for sig in signal.valid_signals():
        h = _getsignal(sig)
        if callable(h) and sig != _SIGURG:  # gort's preemption, when a run hosts reap
            handlers[sig] = h
            _setsignal(sig, hold)


def _held_signal(held: list[tuple[int, FrameType | None]]) -> Any:
    def hold(signum: int, frame: FrameType | None) -> None:
        held.append((signum, None))  # its frame is a released goroutine's

    return hold


def run_held_signals(handlers: dict[int, Any],
                     held: list[tuple[int, FrameType | None]] | deque[tuple[int, FrameType | None]],
                     ) -> None:
    """Give every signal in ``handlers`` its handler back, then run the handlers of the
    signals ``held`` meanwhile (emptied; read once every handler is back, so none that
    comes in between is missed). The first exception a handler raises is raised once
    every handler is back and every held one has run (reap's hold; sigqueue's end)."""
    pending: BaseException | None = None
    for sig, h in handlers.items():
        for _ in range(2):  # once more if a handler's exception came with the call
            try:
                _setsignal(sig, h)
                break
            except BaseException as e:
                pending = pending or e
    late = list(held)
    held.clear()
    for signum, frame in late:
        h = handlers.get(signum)
        if callable(h):
            try:
                h(signum, frame)
            except BaseException as e:
                pending = pending or e
    if pending is not None:
        raise pending


def _forget_wait(gp: G) -> None:
    """Take gp off what outlives its run (a channel's queue, a gort.sync object's FIFO:
    objects with an ``abandon(gp)``): a later run must never hand the abandoned G a
    value or a lock, which would be lost with it (before: a mutex unlocked in the next
    run went to an abandoned waiter for good, a send was received by nobody, and a
    waiter whose greenlet was already released was scheduled: the run crashed)."""
    w, gp.waiting = gp.waiting, None
    gp.status = Gstatus.DEAD
    forget = getattr(w, "abandon", None)
    if forget is not None:
        forget(gp)


def _quiet_unraisable(hook: Any, args: Any) -> None:
    if not isinstance(args.exc_value, GreenletExit):
        hook(args)


def _release(gr: greenlet | None, child: greenlet | None, keep: tuple[greenlet | None, ...],
             me: greenlet, tables: dict[CodeType, tuple[tuple[int, int], ...]],
             gp: G | None = None) -> None:
    if gr is None or gr.dead or gr is me or gr in keep or gr.parent is None:
        return  # never started, finished, or not a goroutine's (a thread's main greenlet)
    # The greenlets to unwind, innermost first: the child the goroutine stopped in, the
    # ones between it and the goroutine's own (each suspended in a switch to the next).
    chain: list[greenlet] = []
    g: greenlet | None = child
    while g is not None and g is not gr:
        if g.dead or g is me or g in keep or g in chain:
            _kept.append((gr, child))
            return
        chain.append(g)
        g = g.parent
    if child is not None and g is not gr:  # the child does not lead back to gr
        _kept.append((gr, child))
        return
    chain.append(gr)
    if gp is not None and before_unwind is not None:  # kept or released: never resumed
        for x in chain:
            _in_handlers(x, tables, functools.partial(before_unwind, gp))
    if not all(_propagates_all(x) for x in chain):
        _kept.append((gr, child))
        return
    stripped: list[CodeType] = []
    doomed = _doomed_generators(chain)  # first: read through the frames' own exception tables
    if not all(_strip_handlers(x, tables, stripped) for x in chain) \
            or not _strip_generators(doomed, tables, stripped):
        _kept.append((gr, child))  # never resumed: frames stripped so far stay so
        return
    del doomed
    # The thread's tracing counter as the reaper has it: a frame of the goroutine's that
    # unwinds past its switch (the C core's park) puts back the goroutine's own value
    # (proc.schedule), which is not necessarily the reaper's (a reap from a callback).
    t = thread_tracing_now()
    tracing = t[0]
    try:
        for x in chain:
            try:
                x.parent = me
            except ValueError:  # me runs inside x (cyclic parent chain): it cannot die now
                _kept.append((gr, child))
                return
            try:
                x.throw(GreenletExit)
            except GreenletExit:
                pass
            except greenlet_error:  # not this thread's (a thread id reused after fork)
                _kept.append((gr, child))
                return
            if not x.dead:  # it switched somewhere instead of unwinding: a gort bug
                _kept.append((gr, child))
                return
    finally:
        t[0] = tracing
        if gr.dead:
            for code in stripped:  # the reference the frame held before its code was swapped
                py_decref(code)
            if stripped:
                _stripped_releases[0] += 1


def quiet_unwind(gr: greenlet, child: greenlet | None) -> bool:
    """Prepare gr, a greenlet suspended in a switch (a thread's main greenlet too), for an
    exception thrown into it to unwind its whole stack without running any of the
    program's handlers, as ``reap`` releases a goroutine: the frames inside try/with
    blocks and the generators its frames alone keep run handler-free copies of their
    code. False if that cannot be done (gr stopped inside a child greenlet, C code
    between two frames that would swallow the exception, a frame layout not probed);
    frames stripped by then stay so (gr must not be resumed normally after a False)."""
    if child is not None or gr.dead or not _propagates_all(gr):
        return False
    tables: dict[CodeType, tuple[tuple[int, int], ...]] = {}
    stripped: list[CodeType] = []  # their frames' references: the process is ending
    doomed = _doomed_generators([gr])
    return _strip_handlers(gr, tables, stripped) and _strip_generators(doomed, tables, stripped)


def _propagates_all(gr: greenlet) -> bool:
    """The exception thrown into gr reaches every frame of its stack: no C code between
    two of them that could swallow it (a finalizer's caller, CPython's dealloc, reports
    "Exception ignored" and returns into the frame below, which would go on running)."""
    f = gr.gr_frame
    while f is not None:
        back = f.f_back
        if back is not None and not is_runtime_file(f.f_code.co_filename) \
                and not is_runtime_file(back.f_code.co_filename) and not _propagates(f, back):
            return False
        f = back
    return True


def _in_handlers(gr: greenlet, tables: dict[CodeType, tuple[tuple[int, int], ...]],
                 visit: Callable[[FrameType], Any]) -> bool:
    """Call ``visit(f)`` on every frame of gr outside gort's runtime that is inside a
    handler's range, innermost first; False as soon as one returns False."""
    f = gr.gr_frame
    while f is not None:
        code = f.f_code
        if not is_runtime_file(code.co_filename):
            ranges = tables.get(code)
            if ranges is None:
                ranges = tables[code] = loud_handler_ranges(code)
            lasti = f.f_lasti
            if any(start <= lasti < end for start, end in ranges) and visit(f) is False:
                return False
        f = f.f_back
    return True


def _strip_handlers(gr: greenlet, tables: dict[CodeType, tuple[tuple[int, int], ...]],
                    stripped: list[CodeType]) -> bool:
    """Make every frame of gr outside gort's runtime that is inside a handler's range run
    a copy of its code with no exception table: the exception thrown then pops it as a
    frame without handlers, running none of them. Appends the replaced code objects
    (whose frame reference the caller now owns) to ``stripped``. False if a frame's
    layout is not as probed (nothing of that frame was changed)."""
    return _in_handlers(gr, tables, functools.partial(_swap_code, stripped=stripped))


_GENERATORS: Final = (GeneratorType, CoroutineType, AsyncGeneratorType)
_SCALARS: Final = frozenset((int, float, str, bytes, bool, type(None), complex))
DOOMED_SEARCH_LIMIT = 2000
"""Objects examined per goroutine when looking for the generators its frames alone keep."""

CYCLE_SEARCH_LIMIT = 64
"""Objects examined per goroutine that something else refers to too, for cycles."""

CYCLE_EXCESS = 4
"""References from elsewhere beyond which an object is taken as shared, not as the member
of a cycle the goroutine alone keeps (a channel or lock shared by many goroutines)."""

_BIG: Final = 64  # a container with more items is not searched for cycles


def _doomed_generators(chain: list[greenlet]) -> list[Any]:
    """The suspended generators, coroutines and async generators that the program frames of
    the greenlets in chain alone keep alive, directly or through objects kept the same way
    (a ``@contextmanager``'s generator, held by its manager, held by the bound ``__exit__``
    a with statement keeps on the stack; a generator in a local; a generator in a
    reference cycle with an object of a local), and their ``yield from`` and ``await``
    delegates (closing a generator closes those too).

    Releasing the frames finalizes them: closing a suspended generator runs its ``except``
    and ``finally`` blocks (those in a cycle when the collector finds it). "Alone" is
    counted, as the collector does: the objects reachable from the frames are examined
    (``DOOMED_SEARCH_LIMIT``), with the references among them counted; one whose every
    reference is counted dies with the frames unless an object that does not (held from
    elsewhere: alive after the release) reaches it. An object with uncounted references
    is examined further only when it has few of them (``CYCLE_EXCESS``: the other members
    of a cycle), within ``CYCLE_SEARCH_LIMIT``; objects shared by many (a channel, a
    module's state) are not walked. The frames' slots are read as the interpreter holds
    them: every local, and the stack items below the depth of the handler covering the
    frame's instruction (exact; the stack pointer of a frame calling C is not)."""
    refs: dict[int, list[Any]] = {}  # id -> [object, references from examined ones]
    todo: list[int] = []
    for x in chain:
        f = x.gr_frame
        while f is not None:
            if not is_runtime_file(f.f_code.co_filename):
                code = f.f_code
                _count(refs, todo, slot_objects(f, nlocalsplus(code) + _held(code, f.f_lasti)))
            f = f.f_back
    edges: dict[int, list[int]] = {}  # examined -> what it refers to (counted)
    shared: list[int] = []  # had uncounted references when first looked at
    while todo and len(edges) < DOOMED_SEARCH_LIMIT:
        i = todo.pop()
        if i in edges:
            continue
        if not _alone(refs[i]):
            shared.append(i)
            continue
        edges[i] = _expand(refs, todo, refs[i][0], False)
    budget = CYCLE_SEARCH_LIMIT
    while (todo or shared) and budget > 0 and len(edges) < DOOMED_SEARCH_LIMIT:
        i = todo.pop() if todo else shared.pop()
        if i in edges or _excess(refs[i]) > CYCLE_EXCESS:
            continue
        budget -= 1
        edges[i] = _expand(refs, todo, refs[i][0], True)
    # Trial deletion: whatever an object with uncounted references reaches stays alive.
    live = {i for i in refs if i not in edges or not _alone(refs[i])}
    stack = [i for i in live if i in edges]
    while stack:
        for j in edges[stack.pop()]:
            if j not in live:
                live.add(j)
                stack.append(j)
    found = [refs[i][0] for i in edges if i not in live
             and isinstance(refs[i][0], _GENERATORS) and _suspended(refs[i][0])]
    more = [d for x in found for d in _delegates(x)]
    return found + more


def _held(code: CodeType, lasti: int) -> int:
    """The value-stack items a frame of code suspended at ``lasti`` still owns: the live
    depth there (symtab.live_depth) less the operands of the call it is suspended in.

    A call takes its operands off the caller's stack: an inlined Python-to-Python call
    (3.11+) moves the callable and the arguments into the callee's frame, which may drop
    them, and 3.13's CALL_FUNCTION_EX frees its argument tuple and keyword dict at once;
    the caller's slots keep the dead pointers (the stack pointer was lowered). Reading
    them counted and referenced freed objects: a goroutine released while parked in
    ``gort.offload(fn, *args)`` corrupted the collector's lists on 3.13 (a segfault
    at a later collection). A C function borrows its arguments from the slots instead;
    not counting them only keeps what they hold alive (never a wrong release)."""
    lasti = max(lasti, 0)
    depth = live_depth(code, lasti)
    ins = instructions(code).get(instr_start(code, lasti))
    if ins is None or ins.arg is None:
        return depth
    name = ins.opname
    if name == "CALL_FUNCTION_EX":
        took = 3 + (ins.arg & 1)  # the callable, NULL or self, the tuple, the dict
    elif name == "CALL_KW":
        took = ins.arg + 3  # the callable, NULL or self, the arguments, the names
    elif name == "CALL":
        took = ins.arg + 2  # the callable, NULL or self, the arguments
    else:
        return depth
    return max(depth - took, handler_depth(code, lasti))


def _count(refs: dict[int, list[Any]], todo: list[int], objs: list[Any]) -> list[int]:
    counted = []
    for x in objs:
        if type(x) in _SCALARS:
            continue
        e = refs.get(id(x))
        if e is None:
            refs[id(x)] = [x, 1]
        else:
            e[1] += 1
        todo.append(id(x))
        counted.append(id(x))
    return counted


def _alone(e: list[Any]) -> bool:
    # getrefcount's own argument and e's slot, besides the references counted
    return bool(sys.getrefcount(e[0]) - 2 == e[1])


def _excess(e: list[Any]) -> int:
    """References to e's object not counted (from objects not examined)."""
    return sys.getrefcount(e[0]) - 2 - int(e[1])


def _expand(refs: dict[int, list[Any]], todo: list[int], x: Any, small: bool) -> list[int]:
    """Count what x refers to; return their ids ([] for objects not walked into: a type, a
    module, a function or code object, which reach everything, a generator running or
    not started, and with ``small`` a container of more than ``_BIG`` items)."""
    if isinstance(x, _GENERATORS):
        if not _suspended(x) and _frame_of(x) is not None:
            return []  # running (a frame of the chain, unwound itself) or not started
    elif isinstance(x, (type, ModuleType, FunctionType, CodeType)):
        return []  # not a holder of a goroutine's generators (and a module holds everything)
    elif small and isinstance(x, (dict, list, tuple, set, frozenset)) and len(x) > _BIG:
        return []
    return _count(refs, todo, gc.get_referents(x))


def _frame_of(x: Any) -> FrameType | None:
    if isinstance(x, GeneratorType):
        return x.gi_frame
    if isinstance(x, CoroutineType):
        return x.cr_frame
    return x.ag_frame  # type: ignore[no-any-return]


def _suspended(x: Any) -> bool:
    if isinstance(x, GeneratorType):
        return bool(x.gi_suspended)
    if isinstance(x, CoroutineType):
        return bool(x.cr_suspended)
    f = x.ag_frame
    return f is not None and not x.ag_running and f.f_lasti >= 0


def _delegates(x: Any) -> list[Any]:
    """The generators x's close reaches through ``yield from``/``await``."""
    got = []
    for _ in range(64):
        x = x.gi_yieldfrom if isinstance(x, GeneratorType) else \
            x.cr_await if isinstance(x, CoroutineType) else x.ag_await
        if not isinstance(x, _GENERATORS) or not _suspended(x):
            break
        got.append(x)
    return got


def _strip_generators(gens: list[Any], tables: dict[CodeType, tuple[tuple[int, int], ...]],
                      stripped: list[CodeType]) -> bool:
    """Point each suspended generator's frame inside a handler's range at its code's copy
    without an exception table (``_swap_code``): closing it then runs no handler."""
    for x in gens:
        f = _frame_of(x)
        if f is None:
            continue
        code = f.f_code
        ranges = tables.get(code)
        if ranges is None:
            ranges = tables[code] = loud_handler_ranges(code)
        lasti = f.f_lasti
        if any(start <= lasti < end for start, end in ranges) and not _swap_code(f, stripped):
            return False
    return True


def _swap_code(f: FrameType, stripped: list[CodeType]) -> bool:
    """Point suspended frame f at a copy of its code without an exception table, and its
    instruction pointer at the same instruction of the copy (same bytecode, so every
    offset, stack depth and local slot stays valid)."""
    units = _code_units_offset()
    layout = frame_layout()
    if units is None or layout is None:
        return False
    code = f.f_code
    fi = layout.iframe(f)
    lasti = f.f_lasti
    if fi == 0 or lasti < 0 or _ptr(fi + layout.code) != id(code) \
            or _ptr(fi + _INSTR) != id(code) + units + lasti:
        return False
    bare = _bare.get(code)
    if bare is None:
        bare = _bare[code] = code.replace(co_exceptiontable=b"")
    py_incref(bare)  # the frame's reference, dropped when the frame is cleared
    ctypes.c_void_p.from_address(fi + layout.code).value = id(bare)
    ctypes.c_void_p.from_address(fi + _INSTR).value = id(bare) + units + lasti
    stripped.append(code)
    return True


_INSTR: Final = 56
"""_PyInterpreterFrame's instruction pointer (3.11, 3.12 ``prev_instr``, 3.13 ``instr_ptr``):
after the specials and the linkage pointers, the same offset in all three."""

# Copies of code objects without an exception table, made once each (weakly keyed: a
# code object that is gone is never swapped again).
_bare: weakref.WeakKeyDictionary[CodeType, CodeType] = weakref.WeakKeyDictionary()
_units: list[int | None] = []
_stripped_releases = [0]  # goroutines released with handlers stripped (reap's collection)


def _code_units_offset() -> int | None:
    """Offset of a code object's bytecode (``co_code_adaptive``) from its address, found on
    two live frames (an instruction pointer minus ``f_lasti``); None if they disagree."""
    if not _units:
        layout = frame_layout()
        found: set[int] = set()
        if layout is not None:
            found.add(_probe_units(layout))  # this frame, suspended in the call
            found.add(_probe_caller(layout))  # and another, at another instruction
        off = found.pop() if len(found) == 1 else None
        _units.append(off if off is not None and 0 < off < 4096 else None)
    return _units[0]


def _probe_units(layout: FrameLayout) -> int:
    f = sys._getframe(1)  # the caller: suspended in this call, its pointer steady
    return _ptr(layout.iframe(f) + _INSTR) - f.f_lasti - id(f.f_code)


def _probe_caller(layout: FrameLayout) -> int:
    x = [layout]
    return _probe_units(x[0])


def _ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def _propagates(f: FrameType, back: FrameType) -> bool:
    """An exception leaving f reaches back: a plain call, a generator resumed by
    FOR_ITER/SEND, a with statement's call of its manager, or a call through C call
    machinery only (symtab.call_machinery_only)."""
    if f.f_code.co_name == "__del__":
        return False  # a finalizer: its caller is CPython's dealloc, which swallows
    if back.f_code is _RUN_CODE:
        return True  # runpy's exec(code, globals) of a script (`gort run`, python -m)
    if op_at(back.f_code, back.f_lasti) not in _ENTRY_OPS:
        return False  # entered at an instruction that calls nothing: a decref's callback
    if with_statement_call(f, back):
        return True
    layout = frame_layout()
    if layout is None:
        return True  # no frame layout (the probe failed): as before, by the handler table
    if not layout.c_entered_suspended(f):
        return True
    return layout.resumed_by_eval_loop(f) or call_machinery_only(f, back) \
        or (layout.is_generator(f) and op_at(back.f_code, back.f_lasti) in _CALL_OPS)


_RUN_CODE: Final = runpy._run_code.__code__  # type: ignore[attr-defined]

# Calls: a generator or coroutine frame entered from one was resumed by a C function of
# the call (next(), send(), throw(), list(), sum(), str.join...): these pass on whatever
# the generator raises (StopIteration aside), as every iteration in C does.
_CALL_OPS: Final = frozenset(op for name, op in dis.opmap.items()
                             if name.startswith(("CALL", "PRECALL")))


# Instructions whose callee's exception reaches the caller: calls, iteration, and the
# operators and attribute accesses that run Python dunders and descriptors.
_ENTRY_OPS: Final = frozenset(
    op for name, op in dis.opmap.items()
    if name.startswith(("CALL", "PRECALL", "FOR_ITER", "SEND", "BINARY_", "COMPARE_OP",
                        "CONTAINS_OP", "LOAD_ATTR", "LOAD_METHOD", "BEFORE_WITH", "GET_",
                        "UNARY_", "FORMAT_", "CONVERT_VALUE", "TO_BOOL", "LOAD_SUPER"))
)
