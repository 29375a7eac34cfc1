"""What lies between a goroutine's Python frames: C code, and tracing (Go: stack.go).

A greenlet switch saves the C stack and restores it later, so switching a
goroutine out while a C function sits between two of its Python frames (a
``sorted(key=)`` key, a ``BufferedWriter`` calling its Python ``raw.write``,
a ``json.dumps(default=)`` hook, any C extension calling back) leaves that C
function suspended mid-call with whatever it holds: the buffered writer's
lock (owned by the thread, so the next goroutine writing gets "reentrant
call"), a list in mid-sort, a C library's own mutex. Stackless Python never
switches a tasklet unless its "nesting level" is 0 (no C between its
frames); gort keeps the same rule for asynchronous and synchronous
preemption (preempt.py). Python does not expose the nesting, so it is read
here from CPython's interpreter frames, through ctypes:

- 3.11: ``_PyInterpreterFrame.is_entry`` is true on the first frame that an
  eval loop invocation runs, i.e. a frame whose caller is C code (the caller
  may itself be a Python frame that called into C).
- 3.12, 3.13: each eval loop invocation pushes a shim frame on the C stack
  (``owner == FRAME_OWNED_BY_CSTACK``) before its first frame; a frame whose
  ``previous`` is such a shim was entered from C.

A frame object reaches its interpreter frame through ``f_frame`` (offset 24
on the usual 64-bit release build: ``PyObject_HEAD``, ``f_back``). Offsets
are per version (pycore_frame.h of 3.11, 3.12, 3.13), and ``probe`` checks
them at start before anything relies on them: the code and frame-object
pointers must be where the layout says, a plain call must read as not
entered from C, a call through ``sorted(key=)`` and ``map`` as entered from
C. Any other version or build fails the probe; preempt.py then turns
asynchronous preemption off with a PreemptionWarning (never a guess).

The thread's tracing counter (``PyThreadState.tracing``) is raised while a
profile, trace or ``sys.monitoring`` callback runs (3.11: call_trace; 3.12+:
call_one_instrument, which the legacy setprofile/settrace go through too).
greenlet does not save it per greenlet, so a goroutine switched out in a
callback leaves it raised for every other goroutine: they get no events (and
3.12+ monitoring, gort's own hook included, goes silent). Its offset is not
taken from a header: ``probe`` finds the one int of the thread state that
``PyThreadState_EnterTracing`` raises by one and ``LeaveTracing`` lowers
back, the exact operation the callbacks' callers perform.

Invariant: only frames that are executing on the calling thread (the
running goroutine's chain from ``sys._getframe`` or a signal handler's
frame) are read; their interpreter frames are live. Reading a suspended
goroutine's frames would be wrong on 3.12+ (its shim frames live on a C
stack greenlet has copied away).

Rejected: the C recursion depth in the thread state (3.12+
``c_recursion_remaining``), compared with its value at the goroutine's
entry: greenlet saves and restores it per greenlet on 3.12+ but not the
same way on 3.11, it also moves for C calls that return before the check,
and it says how much C, not where, so no hook could be placed below the
boundary.
"""

from __future__ import annotations

import _thread
import ctypes
import dis
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Final

from .lock_futex import mutex

_FOR_ITER: Final = dis.opmap["FOR_ITER"]
_SEND: Final = dis.opmap["SEND"]
_OWNED_BY_GENERATOR: Final = 1  # 3.11-3.13: _frameowner FRAME_OWNED_BY_GENERATOR
_OWNED_BY_CSTACK: Final = 3  # 3.12-3.13: FRAME_OWNED_BY_CSTACK
_F_FRAME: Final = 24  # PyFrameObject.f_frame (after PyObject_HEAD and f_back)

# Offsets in _PyInterpreterFrame: (code, previous, frame_obj, is_entry or -1, owner).
_LAYOUTS: Final = {
    (3, 11): (32, 48, 40, 68, 69),
    (3, 12): (0, 8, 48, -1, 70),
    (3, 13): (0, 8, 48, -1, 70),
}


def _ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def _byte(addr: int) -> int:
    return ctypes.c_ubyte.from_address(addr).value


class FrameLayout:
    """Reads CPython's interpreter frames for the running version (3.11-3.13)."""

    def __init__(self, version: tuple[int, int]) -> None:
        self.code, self.previous, self.frame_obj, self.is_entry, self.owner = _LAYOUTS[version]

    def iframe(self, frame: FrameType) -> int:
        """Address of frame's _PyInterpreterFrame."""
        return _ptr(id(frame) + _F_FRAME)

    def c_entered(self, frame: FrameType) -> bool:
        """frame was entered from C: C code sits between it and its caller (if any)."""
        fi = self.iframe(frame)
        if self.is_entry >= 0:
            return bool(_byte(fi + self.is_entry))
        prev = _ptr(fi + self.previous)
        return prev != 0 and _byte(prev + self.owner) == _OWNED_BY_CSTACK

    def c_entered_suspended(self, frame: FrameType) -> bool:
        """c_entered for a frame of a suspended greenlet (abandon.py): on 3.12+ its shim
        frames live on a C stack greenlet has copied away, so none is dereferenced:
        C sits between frame and its caller when ``previous`` is not the caller's."""
        fi = self.iframe(frame)
        if self.is_entry >= 0:
            return bool(_byte(fi + self.is_entry))
        back = frame.f_back
        prev = _ptr(fi + self.previous)
        return back is not None and prev != self.iframe(back)

    def is_generator(self, frame: FrameType) -> bool:
        """frame belongs to a generator or coroutine object."""
        return _byte(self.iframe(frame) + self.owner) == _OWNED_BY_GENERATOR

    def resumed_by_eval_loop(self, frame: FrameType) -> bool:
        """frame is a generator's, resumed by its caller's FOR_ITER or SEND.

        The C between is then only genobject.c's ``gen_send_ex``, which holds
        nothing another goroutine could trip over: exempt from the rule.
        (A C iterator wrapping a generator and iterated by FOR_ITER reads the
        same; nothing in the frames tells the two apart.)
        """
        back = frame.f_back
        if back is None or not self.is_generator(frame):
            return False
        return back.f_code.co_code[back.f_lasti] in (_FOR_ITER, _SEND)

    def check(self, frame: FrameType) -> str:
        """"" if frame's interpreter frame is where this layout says, else what is not."""
        fi = self.iframe(frame)
        if fi == 0:
            return "f_frame is NULL"
        if _ptr(fi + self.code) != id(frame.f_code):
            return "code pointer not found"
        if _ptr(fi + self.frame_obj) != id(frame):
            return "frame object pointer not found"
        return ""


class ThreadState:
    """The calling thread's PyThreadState and the offset of its tracing counter."""

    def __init__(self) -> None:
        api = ctypes.pythonapi
        get = api.PyThreadState_Get
        get.restype = ctypes.c_void_p
        get.argtypes = []
        self.enter = api.PyThreadState_EnterTracing
        self.leave = api.PyThreadState_LeaveTracing
        for f in (self.enter, self.leave):
            f.restype = None
            f.argtypes = [ctypes.c_void_p]
        self.addr: int = get() or 0

    def find_tracing(self) -> int:
        """Offset of ``tracing``: the one int EnterTracing raises by one; -1 if not unique."""
        n = 128  # ints: the counter sits in the first 100 bytes on 3.11-3.13
        view = (ctypes.c_int * n).from_address(self.addr)
        before = view[:]
        try:
            # Inside the try: an exception that a signal handler raises as enter returns
            # (the program's own handlers run raw while a run starts) must not leave the
            # counter raised, which mutes every trace and profile function for good.
            self.enter(self.addr)
            during = view[:]
        finally:
            self.leave(self.addr)
        after = view[:]
        hits = [i for i in range(n)
                if during[i] == before[i] + 1 and after[i] == before[i]]
        # before is 0, or 1 and more inside a tracing callback (a run started from one)
        return hits[0] * 4 if len(hits) == 1 and 0 <= before[hits[0]] < 8 else -1


    def find_recursion_remaining(self) -> int:
        """Offset of the Python recursion budget left (3.11 ``recursion_remaining``, 3.12+
        ``py_recursion_remaining``): the one int that a Python call lowers by one and
        ``sys.setrecursionlimit(limit + 7)`` raises by 7; -1 if not unique."""
        n = 128
        view = (ctypes.c_int * n).from_address(self.addr)

        def deeper() -> list[int]:
            return view[:]

        here = view[:]
        inside = deeper()
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 7)
        try:
            raised = view[:]
        finally:
            sys.setrecursionlimit(limit)
        hits = [i for i in range(n)
                if inside[i] == here[i] - 1 and raised[i] == here[i] + 7 and here[i] > 0]
        return hits[0] * 4 if len(hits) == 1 else -1


TRACING_OFFSET: Final = ThreadState().find_tracing()
"""Offset of ``tracing`` in a PyThreadState, -1 if not found: then nothing is muted."""

tracing_tls: Final = _thread._local()  # .c: the calling thread's tracing counter


def thread_tracing() -> memoryview:
    """The calling thread's tracing counter (``PyThreadState.tracing``), made on first use.

    Raised by one, it mutes the thread as ``PyThreadState_EnterTracing`` does: no
    profile, trace or ``sys.monitoring`` callback runs until it is lowered. Two users:
    threadlock.RLock, around the steps where its state is in flux (the inner lock
    taken, the owner not yet recorded; the owner cleared, the inner lock not yet
    released: CPython's C RLock emits no event inside ``acquire`` and ``release``
    either, and a callback that takes the same RLock must find it held or free,
    never half-taken), and the scheduler's switch (``Sched.tcount``, proc.py), where
    the M's current G already names the goroutine switched to while the code runs on
    the stack of the one switched from. A one-int memoryview over the thread state:
    an item read or store is no call, so the raise and the lowering emit no event
    themselves (and cost about 45 ns each way; a ctypes int's ``.value``, 70).
    """
    if TRACING_OFFSET < 0:
        c: ctypes.c_int = ctypes.c_int(0)  # not found: a counter of nobody's (nothing muted)
    else:
        c = ctypes.c_int.from_address(ThreadState().addr + TRACING_OFFSET)
    mv = memoryview(c).cast("B").cast("i")
    tracing_tls.c = mv
    return mv


def thread_tracing_now() -> memoryview:
    """The calling thread's tracing counter (``tracing_tls.c``, made on first use)."""
    try:
        return tracing_tls.c  # type: ignore[no-any-return]
    except AttributeError:
        return thread_tracing()


UNLIMITED: Final = 1 << 30
"""The recursion budget read where the probe failed: never short."""


class Stack:
    """What the preemption checks read: C between frames, the tracing counter, and the
    recursion budget left.

    Built on the M's thread (the counters are that thread's; greenlet swaps the
    budget per greenlet, so it is the running goroutine's). ``error`` is "" when
    the probe passed, else why not; then nothing here may be used.
    """

    def __init__(self) -> None:
        self.layout: FrameLayout | None = None
        self.tracing = ctypes.c_int(0)  # stays 0 (never tracing) if the probe fails
        # The running greenlet's Python recursion budget (proc.getg's headroom test).
        self.depth_left = ctypes.c_int(UNLIMITED)
        self.error = probe_layout(self)


def probe_layout(st: Stack) -> str:
    """Fill st.layout and st.tracing after checking them on this interpreter; "" or why not."""
    version = sys.version_info[:2]
    if version not in _LAYOUTS:
        return f"CPython {version[0]}.{version[1]}'s frame layout is not known to gort"
    layout = FrameLayout(version)
    err = layout.check(sys._getframe())
    if err:
        return f"frame layout check failed: {err}"

    from_c: list[bool] = []

    def entered(_x: object) -> int:  # called from C (sorted's key, map)
        from_c.append(layout.c_entered(sys._getframe()))
        return 0

    def gen() -> Iterator[bool]:
        # Resumed by FOR_ITER: C-entered and exempt, or (3.12+ once specialised) inlined.
        for _ in range(2):
            f = sys._getframe()
            yield not layout.c_entered(f) or layout.resumed_by_eval_loop(f)

    if layout.c_entered(_plain()):
        return "frame layout check failed: a plain call reads as entered from C"
    sorted([0, 1], key=entered)
    list(map(entered, [0]))
    if from_c != [True, True, True]:
        return "frame layout check failed: a call from C reads as a plain call"
    if not all(ok for ok in gen()):
        return "frame layout check failed: a generator resumed by FOR_ITER is not recognised"
    ts = ThreadState()
    off = _tracing_offset(ts)
    if off == -1:
        return "the thread state's tracing counter was not found"
    if off == -2:
        return "the thread state's tracing counter does not move in a profile callback"
    st.layout = layout
    st.tracing = ctypes.c_int.from_address(ts.addr + off)
    off = ts.find_recursion_remaining()
    if off >= 0:
        st.depth_left = ctypes.c_int.from_address(ts.addr + off)
    return ""


def _plain() -> FrameType:
    return sys._getframe()


def _tracing_offset(ts: ThreadState) -> int:
    """The offset of the tracing counter in a thread state (``ThreadState.find_tracing``),
    checked to be raised inside a profile callback and back to 0 after it; -1 if not
    found, -2 if it does not move so.

    Found on the calling thread, which may itself be inside a profile, trace or
    monitoring callback (a runtime first started from one): then the counter is raised
    now, which is the check. Otherwise the check runs there too when the thread has no
    profile function, else on a bare thread of its own, whose profile slot is free (the
    caller's holds the program's profiler, and a C one, ``python -m cProfile``'s, cannot
    be put back with ``sys.setprofile``: its object is not callable, a TypeError ended
    every run). On the calling thread a program's global ``sys.monitoring`` callback
    (3.12+) sees the check's two calls as it sees the program's own code; on a thread of
    gort's it would run too, and one that raises there (as a callback meant for the
    program's threads may) failed the check: asynchronous preemption off for the run.
    On that thread, one that kills it leaves the check failed after 5 s, never a hang.
    """
    off = ts.find_tracing() if ts.addr else -1
    if off < 0:
        return -1
    if ctypes.c_int.from_address(ts.addr + off).value >= 1:
        return off  # inside a callback now: raised there
    result: list[bool] = []
    done = mutex()
    done.acquire()

    def probe() -> None:
        try:
            counter = ctypes.c_int.from_address(ThreadState().addr + off)
            seen: list[int] = []
            sys.setprofile(lambda frame, event, arg: seen.append(counter.value))
            try:
                _plain()
            finally:
                sys.setprofile(None)
            result.append(bool(seen) and min(seen) >= 1 and counter.value == 0)
        finally:
            done.release()

    if sys.getprofile() is None:
        probe()
    else:
        _thread.start_new_thread(probe, ())
        done.acquire(True, 5)
    return off if result == [True] else -2


_layout: list[FrameLayout | None] = []


def frame_layout() -> FrameLayout | None:
    """The checked frame layout of this interpreter (stack.py's probe, once), or None."""
    if not _layout:
        st = Stack()
        _layout.append(st.layout if not st.error else None)
    return _layout[0]
