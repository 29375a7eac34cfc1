"""Goroutine preemption (Go: runtime/preempt.go, the asyncPreempt half of signal_unix.go).

Safe points, as in Go:
  1. Blocked: a G parked in gopark is stopped already.
  2. Synchronous: every gort call checks ``gp.preempt`` (the analog of Go's
     poisoned stack guard) and, if set, goes to the global queue
     (``proc.gopreempt_m``).
  3. Asynchronous: sysmon sends SIGURG to the M's thread; the handler
     (signal_unix) calls ``do_sig_preempt`` with the interrupted frame.

``do_sig_preempt`` always acknowledges the request (``mp.preempt_gen``) and
switches the G out only when ``want_async_preempt`` (the G is running and a
preemption is still wanted) and ``is_async_safe_point`` (``check``) both hold:

- no frame of the G's stack, from the interrupted one down to the G's entry,
  is gort's own code, or code of a module that holds thread locks or the
  import lock across Python code (threading, queue, logging, importlib,
  concurrent.futures, ...; ``Debug.nopreempt_modules``, extendable with
  GORT_NOPREEMPT); a G switched out inside ``queue.Queue.put`` would leave
  the queue's lock held for the next G on the same thread;
- no C function sits between two of those frames (stack.py: Stackless's
  "nesting level 0"): a ``sorted`` key, a ``BufferedWriter``'s Python
  ``raw.write``, any C code calling back. Exempt: a generator resumed by its
  caller's FOR_ITER/SEND (only genobject.c between), and gort's own call of
  the goroutine's function (a partial, a class, ``f(*args)``). The G's base
  is gort's entry frame (gmain, run_path) or the script's module frame;
- no profile, trace or monitoring callback is running (the thread's tracing
  counter is 0): greenlet does not switch that counter;
- the runtime has not disabled preemption (``m.locks > 0``);
- the interrupted instruction (``frame.f_lasti``) is a loop back-edge or a
  function entry (``RESUME``): the eval loop checks for signals there, between
  instructions, with no C code of the G's in progress.

For C between frames and tracing callbacks the handler arms the one-shot
hook (below) on the caller of the lowest frame entered from C, the outermost
Python frame under the boundary: the G stops as soon as the whole callback
chain has returned; ``stats()["preempt_deferred"]`` counts each deferral by
reason. The synchronous safe points obey the same two rules
(``sync_deferred``, only when ``gp.preempt`` is set, off the fast path), and
a goroutine that tries to park inside a tracing callback gets a RuntimeError
(proc.gopark). sysmon's requests interrupt no system call (signal_unix.py),
except for a G blocked waiting for a thread lock, which the handler switches
out inside the acquire (``lock_wait``, sysmon.py).

When the instruction is anything else the handler was entered from C code:
inside a call (a buffered write holding its lock, a lock wait, ``time.sleep``)
or at the check right after a call returned; Python cannot tell which, and
switching inside the first can corrupt or deadlock that C code. Then the
handler arms a one-shot hook on the interrupted frame and returns; the hook
fires at that frame's next instruction, which runs only after the C call has
returned, and switches the G out there. The hook is ``f_trace`` with
``f_trace_opcodes`` on 3.11 and ``sys.monitoring`` INSTRUCTION events with
gort's own tool id on 3.12+. A switch inside a trace or monitoring callback
would leave the thread's tracing counter raised for every other greenlet, so
the hook leaves tracing (``PyThreadState_LeaveTracing``) for the switch and
enters it again when the G resumes. Where no hook can be armed (3.11 with a
foreign trace function already set, e.g. a debugger or coverage) the request
stays pending and sysmon re-sends the signal with back-off. On 3.11 a Python
trace function (``sys.settrace(fn)``, pdb) consults ``frame.f_trace``, so the
hook chains in front of the frame's own local tracer and leaves the global
one alone; a C tracer (coverage's) does not, so there is no hook under it.
The handler never switches inside the program's trace function itself.

Measured choice (see docs/design.md): the handler-only design (switch at back
edges and entries, otherwise wait for the next signal) never preempted a
loop whose time goes into C calls: every signal was handled at the check
after a call, 52 of 52 deliveries in ``while ...: sum(range(2000))``. Asking
for another look at the very next check from inside the handler does not
work either: the handler's own call re-enters it (RecursionError on 3.11
and 3.13). Hence handler switch where it is safe, hook where it is not.
"""

from __future__ import annotations

import ctypes
import dis
import functools
import inspect
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType, MethodType
from typing import Any, Final, TypeVar

from . import proc
from .abandon import exception_table
from .g import G, Gstatus
from .sched import Sched
from .stack import Stack
from .threadlock import RAW_RLOCK_KINDS
from .traceback import is_gort_file

# Opcodes where the eval loop checks for signals between instructions.
SAFE_OPCODES: Final = frozenset(
    op for name, op in dis.opmap.items()
    if name == "RESUME" or ("JUMP_BACKWARD" in name and "NO_INTERRUPT" not in name)
)

_USER: Final = 0
_BASE: Final = 1  # gort's entry frame of a goroutine (gmain, run_path): the walk stops here
_MAIN: Final = 4  # the script's module frame (the main goroutine's base; user code)
_RUNTIME: Final = 2  # gort's own code
_MODULE: Final = 3  # a module in the no-preempt list

_BEFORE_WITH: Final = dis.opmap["BEFORE_WITH"]
_CALLS: Final = frozenset(op for name, op in dis.opmap.items() if name.startswith("CALL"))
_LOADERS: Final = ("LOAD_ATTR", "LOAD_METHOD")

# Deferral reasons (gort.stats()["preempt_deferred"] keys, with ": hooked" or ": no hook").
C_BETWEEN: Final = "C between frames"
TRACING: Final = "tracing callback"
RLOCK_HELD: Final = "thread lock held"

# sys.monitoring (3.12+), reached through Any: mypy checks this file as 3.11.
_MONITORING: Any = getattr(sys, "monitoring", None)

# Functions of gort's public modules that call user code (errgroup's and WaitGroup.go's
# goroutine wrappers, Once.do, the once_* wrappers, Map.range): classified as user
# code, so the user's frames above them stay preemptible and the walk goes on below
# them. A function listed here must hold no runtime state mid-update and no thread
# lock across its own instructions: a switch between any two of them must be harmless
# (it holds at most goroutine-level state, such as a gort.sync.Mutex, which a
# preempted G may hold).
USER_BOUNDARY_CODES: set[CodeType] = set()

F = TypeVar("F", bound=Callable[..., Any])


def user_code_boundary(fn: F) -> F:
    """Mark fn as safe to preempt in and above (see USER_BOUNDARY_CODES); returns fn."""
    USER_BOUNDARY_CODES.add(fn.__code__)
    return fn


def tracing_api() -> tuple[Callable[[], Any], Callable[[Any], None], Callable[[Any], None]]:
    api = ctypes.pythonapi
    get = api.PyThreadState_Get
    get.restype = ctypes.c_void_p
    get.argtypes = []
    enter = api.PyThreadState_EnterTracing
    leave = api.PyThreadState_LeaveTracing
    for f in (enter, leave):
        f.restype = None
        f.argtypes = [ctypes.c_void_p]
    return get, enter, leave


class Preempter:
    """The asynchronous-preemption logic of one run (state lives here, on the Sched)."""

    def __init__(self, s: Sched, base_codes: tuple[CodeType, ...], stack: Stack) -> None:
        self.s = s
        self.stack = stack
        self.layout = stack.layout  # None: the probe failed, no C-between check possible
        self.tracing = stack.tracing
        self.started = False
        self.modules = tuple(s.debug.nopreempt_modules)
        self.base_codes = frozenset(base_codes)
        self.codeclass: dict[CodeType, tuple[int, str]] = {}
        self.armed_frame: FrameType | None = None
        self.armed_g: G | None = None
        # 3.11: what the armed frame had before the hook (restored on disarm).
        self.saved_trace: Any = None
        self.saved_opcodes = False
        self.tool_id = -1
        self._tstate_get, self._enter_tracing, self._leave_tracing = tracing_api()

    # -- setup -----------------------------------------------------------------

    def start(self) -> None:
        self.started = True
        mon = _MONITORING
        if mon is not None:
            for tool in (4, 3):  # ids 0-2 and 5 are reserved for debuggers, coverage,
                if mon.get_tool(tool) is None:  # profilers, optimizers (PEP 669)
                    mon.use_tool_id(tool, "gort")
                    mon.register_callback(tool, mon.events.INSTRUCTION, self._monitor_hook)
                    self.tool_id = tool
                    break

    def close(self) -> None:
        self.started = False
        self.disarm()
        if self.tool_id >= 0:
            mon = _MONITORING
            mon.register_callback(self.tool_id, mon.events.INSTRUCTION, None)
            mon.free_tool_id(self.tool_id)
            self.tool_id = -1

    # -- Go's wantAsyncPreempt / isAsyncSafePoint ----------------------------------

    def want_async_preempt(self, gp: G | None) -> bool:
        """A preemption is still wanted for gp and gp is running."""
        return gp is not None and gp.preempt and gp.status is Gstatus.RUNNING

    def _classify(self, frame: FrameType) -> tuple[int, str]:
        code = frame.f_code
        got = self.codeclass.get(code)
        if got is not None:
            return got
        if code in self.base_codes:
            got = (_BASE, "")
        elif code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
            got = (_MAIN, "")
        elif code in USER_BOUNDARY_CODES:
            got = (_USER, "")
        elif is_gort_file(code.co_filename):
            got = (_RUNTIME, "runtime")
        else:
            mod = frame.f_globals.get("__name__")
            got = (_USER, "")
            if isinstance(mod, str):
                for prefix in self.modules:
                    if mod == prefix or mod.startswith(prefix + "."):
                        got = (_MODULE, prefix)
                        break
        self.codeclass[code] = got
        return got

    def unsafe_reason(self, gp: G, frame: FrameType | None) -> str:
        """Why the G interrupted at ``frame`` may not be switched out; "" if it may."""
        return self.check(gp, frame)[0]

    def check(self, gp: G, frame: FrameType | None,
              modules: bool = True) -> tuple[str, FrameType | None]:
        """(why gp, interrupted at frame, may not be switched out, where to hook); ("", None).

        Walks from the interrupted frame to the G's entry frame (Go:
        isAsyncSafePoint, which likewise never preempts the runtime itself).
        Unsafe: the runtime's locks; a frame of gort or (``modules``) of a
        no-preempt module (no hook: sysmon re-sends); a tracing callback
        running; C between two of the frames (stack.py). For the last two the
        hook frame is the caller of the lowest frame entered from C, the
        outermost Python frame below the boundary: its next instruction runs
        once the whole callback chain has returned.
        """
        if self.s.m0.locks:
            return "locks", None
        for lk in self.s.raw_rlocks:
            if lk._is_owned():
                return RLOCK_HELD, None  # a plain RLock: the next goroutine would enter it
        layout = self.layout
        lowest: FrameType | None = None
        f = frame
        while f is not None:
            kind, what = self._classify(f)
            if kind == _BASE:
                break
            if kind == _RUNTIME or (kind == _MODULE and modules):
                return what, None
            if _in_raw_rlock_with(f):
                # A plain RLock held by `with` (kept anywhere: an instance's), as above.
                return RLOCK_HELD, None
            if kind == _MAIN:
                break
            back = f.f_back
            if back is None:
                break  # the thread's first frame (a script run outside gort's entry points)
            if layout is not None and layout.c_entered(f) and not self._exempt(gp, f, back):
                lowest = f
            f = back
        if self.tracing.value:
            reason = TRACING
        elif lowest is not None:
            reason = C_BETWEEN
        else:
            return "", None
        below = None if lowest is None else lowest.f_back
        if below is not None and self._classify(below)[0] not in (_USER, _MAIN):
            below = None  # never hook gort's entry frame, nor a no-preempt module's
        return reason, below

    def _exempt(self, gp: G, f: FrameType, back: FrameType) -> bool:
        """C between f and back that cannot hurt: not counted as C between."""
        layout = self.layout
        assert layout is not None
        if layout.resumed_by_eval_loop(f):
            return True  # a generator resumed by FOR_ITER/SEND: only gen_send_ex between
        # gmain calling the goroutine's function through CPython's call machinery (a
        # partial, a class, a bound method, f(*args) on 3.11): the C is the call itself.
        if self._classify(back)[0] == _BASE and f.f_code is _entry_code(gp.fn):
            return True
        # The same for gort's user-code boundaries (WaitGroup.go, Once.do, errgroup...)
        # and entry points (a script's own gort.run(main) hosted by `gort run`): they
        # call a function they were given; f is that call if one of their locals enters
        # f's code. (A C callable given to them, calling back, does not match.)
        if back.f_code in USER_BOUNDARY_CODES or self._classify(back)[0] == _BASE:
            return any(callable(v) and _entry_code(v) is f.f_code
                       for v in list(back.f_locals.values()))
        # Any frame calling a Python callable through C call machinery only:
        # ``fn(*args)`` (CALL_FUNCTION_EX on 3.11), a class (type_call, then
        # __init__), a partial, an instance with a Python __call__. That C holds
        # nothing; a C function calling back (``buf.write(*a)`` reaching a Python
        # raw.write, ``sorted(key=f)``) resolves to the C function and stays C between.
        if self._classify(back)[0] not in (_USER, _MAIN):
            return False  # never read a runtime frame's locals (they are mid-update)
        return _entry_code(_callee(back)) is f.f_code

    def runtime_frame(self, frame: FrameType) -> bool:
        """A frame from ``frame`` down to the G's entry is gort's own (sigqueue.py asks)."""
        f: FrameType | None = frame
        while f is not None:
            kind = self._classify(f)[0]
            if kind == _BASE:
                return False
            if kind == _RUNTIME:
                return True
            f = f.f_back
        return False

    # -- the handler's part (Go: doSigPreempt) --------------------------------

    def do_sig_preempt(self, frame: FrameType | None, lock_wait: bool = False) -> None:
        """Answer one preemption request on the M's thread; switch the G out if safe.

        ``lock_wait``: sysmon sent this signal to a G blocked in a thread lock's
        acquire (sysmon.py); if it still is, switch it out right here, inside the
        acquire's signal-retry loop, so the goroutine holding the lock can run.
        """
        s = self.s
        mp = s.m0
        mp.preempt_gen += 1
        gp = mp.curg
        if not self.want_async_preempt(gp) or frame is None:
            return  # withdrawn: the G already stopped, or the M is idle
        assert gp is not None
        if lock_wait and lock_wait_at(frame) and not self.check(gp, frame, modules=False)[0]:
            s.stats.preempt_lock_wait += 1
            proc.gopreempt_m(gp, True)
            return
        if mp.armed is not None:
            if self._armed_on_stack(frame) and self._hook_in_place():
                return  # a hook is already waiting for this G's next instruction
            # Its frame returned without running another instruction (hooked at a
            # profile function's "return" event, say): it would never fire.
            self.disarm()
        reason, below = self.check(gp, frame)
        if reason:
            if below is None:
                self._deferred(reason if reason not in (C_BETWEEN, TRACING)
                               else f"{reason}: no hook")
            elif self.arm(gp, below):
                self._deferred(f"{reason}: hooked")
            else:
                self._deferred(f"{reason}: no hook")
            return
        if frame.f_code.co_code[frame.f_lasti] in SAFE_OPCODES:
            proc.gopreempt_m(gp, True)
            return
        if self.arm(gp, frame):
            self._deferred("in call: hooked")
        else:
            self._deferred("in call: no hook")

    def _armed_on_stack(self, frame: FrameType | None) -> bool:
        armed = self.armed_frame
        while frame is not None:
            if frame is armed:
                return True
            frame = frame.f_back
        return False

    def _hook_in_place(self) -> bool:
        """The armed hook is still there (3.11: nothing has replaced the frame's f_trace)."""
        frame = self.armed_frame
        if self.tool_id >= 0 or _MONITORING is not None or frame is None:
            return True
        if frame.f_trace is self._trace_hook:
            return True
        # Replaced (the program's tracer, or pdb, set f_trace meanwhile): the hook
        # would never fire, and restoring the old f_trace would undo the program's.
        self.saved_trace = frame.f_trace
        self.saved_opcodes = frame.f_trace_opcodes
        return False

    def sync_deferred(self, gp: G) -> bool:
        """At a synchronous safe point (gp.preempt set): True if gp must not switch here.

        Same rule as the handler's, for C between frames and tracing callbacks
        (the no-preempt modules never applied to gort calls). The request stays
        pending; with asynchronous preemption on, the hook is armed below the
        boundary so the G stops as soon as the callback chain returns.
        """
        f: FrameType | None = sys._getframe(2)  # above gopreempt_m
        while f is not None and self._classify(f)[0] == _RUNTIME:
            f = f.f_back  # the gort call itself (chan.send, select, ...)
        reason, below = self.check(gp, f, modules=False)
        if reason == RLOCK_HELD:
            self._deferred(f"sync: {reason}")
            return True
        if not reason or reason not in (C_BETWEEN, TRACING):
            return False
        if self.s.m0.armed is not None:
            return True
        hooked = below is not None and self.started and self.arm(gp, below)
        self._deferred(f"sync: {reason}: {'hooked' if hooked else 'no hook'}")
        return True

    def _deferred(self, reason: str) -> None:
        s = self.s
        d = s.stats.preempt_deferred
        d[reason] = d.get(reason, 0) + 1
        if s.tracer is not None and s.m0.curg is not None:
            s.tracer.preempt(s.m0.p, s.m0.curg, f"deferred: {reason}")

    # -- the one-shot hook -------------------------------------------------------

    def arm(self, gp: G, frame: FrameType) -> bool:
        """Make frame's next instruction switch gp out. False if no hook can be armed."""
        if self.tool_id >= 0:
            _MONITORING.set_local_events(self.tool_id, frame.f_code,
                                         _MONITORING.events.INSTRUCTION)
        elif _MONITORING is None:
            current = sys.gettrace()
            if current is not None and _python_tracer() is None:
                return False  # a C tracer (coverage's CTracer) never consults f_trace
            if current is not None and self.tracing.value:
                # Inside the Python tracer's own callback: when it returns, CPython's
                # trace trampoline stores its result in the frame's f_trace, over the
                # hook, which would then never fire. Leave the request to sysmon's
                # next signal, which lands outside the callback most of the time.
                return False
            # A Python tracer (sys.settrace(fn), pdb) calls frame.f_trace: chain in front
            # of the frame's own local tracer, leave the global one alone.
            self.saved_trace = frame.f_trace
            self.saved_opcodes = frame.f_trace_opcodes
            frame.f_trace = self._trace_hook
            frame.f_trace_opcodes = True
            if current is None:
                sys.settrace(_no_local_trace)
        else:
            return False
        self.armed_frame = frame
        self.armed_g = gp
        self.s.m0.armed = self.disarm
        return True

    def disarm(self) -> None:
        """Remove the hook (when it fired, or when its G stops some other way)."""
        frame = self.armed_frame
        if frame is None:
            return
        self.armed_frame = None
        self.armed_g = None
        self.s.m0.armed = None
        if self.tool_id >= 0:
            _MONITORING.set_local_events(self.tool_id, frame.f_code, 0)
        else:
            frame.f_trace_opcodes = self.saved_opcodes
            frame.f_trace = self.saved_trace
            self.saved_trace = None
            if sys.gettrace() is _no_local_trace:
                sys.settrace(None)

    def _fire(self, frame: FrameType) -> None:
        if frame is not self.armed_frame:
            return
        gp = self.armed_g
        self.disarm()
        if not self.want_async_preempt(gp) or self.s.m0.curg is not gp:
            return
        assert gp is not None
        tstate = self._tstate_get()
        self._leave_tracing(tstate)
        try:
            proc.gopreempt_m(gp, True)
        finally:
            self._enter_tracing(tstate)

    def _trace_hook(self, frame: FrameType, event: str, arg: Any) -> Any:
        local = self.saved_trace
        if local is not None and event != "opcode":
            local = local(frame, event, arg)  # the program's local tracer sees its event
        self._fire(frame)  # disarms (restoring f_trace), then may switch the G out
        if local is not None and frame.f_trace is None:
            frame.f_trace = local
        return local

    def _monitor_hook(self, code: CodeType, offset: int) -> None:
        self._fire(sys._getframe(1))


def _python_tracer() -> Any:
    """The program's global trace function if it is Python code (sys.settrace(fn)), else None."""
    tr = sys.gettrace()
    if tr is None or _no_local_trace in (tr, getattr(tr, "__func__", None)):
        return None
    fn = getattr(tr, "__func__", tr)
    return tr if hasattr(fn, "__code__") else None


def _no_local_trace(frame: FrameType, event: str, arg: Any) -> None:
    """The global trace function while a 3.11 hook is armed: trace no new frame."""
    return None


def _entry_code(fn: Any) -> CodeType | None:
    """The code of the first Python frame that calling fn runs (through C call machinery)."""
    for _ in range(8):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, MethodType):
            fn = fn.__func__
        elif isinstance(fn, type):
            fn = fn.__dict__.get("__init__") or getattr(fn, "__init__", None)
        elif hasattr(fn, "__code__"):
            code: CodeType = fn.__code__
            return code
        else:
            fn = type(fn).__dict__.get("__call__")  # an instance with a Python __call__
    return None


_BASE_LOADERS: Final = frozenset(("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_DEREF", "LOAD_CLOSURE",
                                   "LOAD_GLOBAL", "LOAD_NAME"))
_ATTR_LOADERS: Final = frozenset(("LOAD_ATTR", "LOAD_METHOD"))
# 3.13's superinstructions whose second half loads a local (positioned at their first half).
_FUSED_LOADS: Final = frozenset(("LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST"))
# What a call's own argument packing may emit at the call's source position.
_ARG_PACKING: Final = frozenset((
    "BUILD_LIST", "BUILD_TUPLE", "BUILD_MAP", "LIST_EXTEND", "LIST_APPEND", "LIST_TO_TUPLE",
    "DICT_MERGE", "DICT_UPDATE", "CALL_INTRINSIC_1", "KW_NAMES", "LOAD_CONST", "PRECALL",
    "PUSH_NULL", "COPY", "SWAP", "NOP", "EXTENDED_ARG"))
_callee_cache: dict[tuple[CodeType, int], tuple[tuple[str, str], ...]] = {}


def _callee_expr(code: CodeType, lasti: int) -> tuple[tuple[str, str], ...]:
    """The loads, (opname, name), of the callee of the call at ``lasti``: ``a.b.c`` of
    ``a.b.c(*x)``; () if the callee is not a plain name or attribute chain.

    Read from the source positions: the callee expression starts where the call
    expression does, its arguments further right or below.
    """
    key = (code, lasti)
    got = _callee_cache.get(key)
    if got is not None:
        return got
    instrs = _instructions(code)
    call = instrs.get(lasti)
    run: list[tuple[str, str]] = []
    if call is not None and call.opcode in _CALLS and call.positions is not None:
        start = (call.positions.lineno, call.positions.col_offset)
        for off in range(lasti - 2, -1, -2):
            ins = instrs.get(off)
            if ins is None or ins.positions is None:
                continue
            at_start = (ins.positions.lineno, ins.positions.col_offset) == start
            if at_start and (ins.opname in _BASE_LOADERS or ins.opname in _ATTR_LOADERS):
                run.insert(0, (ins.opname, ins.argval))
            elif not run and at_start and ins.opname not in _ARG_PACKING:
                break  # the callee is computed (a call's result, a subscript): unknown
            elif run:
                if run[0][0] in _ATTR_LOADERS and ins.opname in _FUSED_LOADS:
                    run.insert(0, ("LOAD_FAST", ins.argval[1]))
                break
        if not run or run[0][0] not in _BASE_LOADERS or any(
                op not in _ATTR_LOADERS for op, _ in run[1:]):
            run = []
    if len(_callee_cache) > 1024:
        _callee_cache.clear()
    got = _callee_cache[key] = tuple(run)
    return got


def _callee(frame: FrameType) -> Any:
    """What frame's current call instruction calls, found without running any code; None if
    that cannot be known (see ``_callee_expr``)."""
    return _resolve(frame, _callee_expr(frame.f_code, frame.f_lasti))


def _resolve(frame: FrameType, expr: tuple[tuple[str, str], ...]) -> Any:
    """The value of a load chain in frame, found without running code; None if unknown."""
    if not expr:
        return None
    op, name = expr[0]
    missing = _MISSING
    value: Any = missing
    if op != "LOAD_GLOBAL":
        value = frame.f_locals.get(name, missing)
    if value is missing and op in ("LOAD_GLOBAL", "LOAD_NAME"):
        value = frame.f_globals.get(name, missing)
        if value is missing:
            value = frame.f_builtins.get(name, missing)
    for _, attr in expr[1:]:
        if value is missing:
            break
        value = inspect.getattr_static(value, attr, missing)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
    return None if value is missing else value


_MISSING: Final = object()
_BEFORE_WITH_OPS: Final = frozenset(op for name, op in dis.opmap.items()
                                    if name in ("BEFORE_WITH", "SETUP_WITH"))
_with_cache: dict[CodeType, tuple[tuple[int, int, tuple[tuple[str, str], ...]], ...]] = {}


def _with_blocks(code: CodeType) -> tuple[tuple[int, int, tuple[tuple[str, str], ...]], ...]:
    """The ``with`` blocks of code whose context manager is a plain name or attribute chain:
    (start, end) byte offsets of the body and the loads of the manager (see _callee_expr).

    A body is made of the exception-table ranges whose handler starts with
    PUSH_EXC_INFO, WITH_EXCEPT_START (CPython 3.11+); its manager is the load chain
    right before the BEFORE_WITH ahead of its first range.
    """
    got = _with_cache.get(code)
    if got is not None:
        return got
    instrs = _instructions(code)
    order = sorted(instrs)
    bodies: dict[int, list[tuple[int, int]]] = {}  # handler -> the ranges it covers
    for start, end, target in exception_table(code):
        head = [instrs[o].opname for o in order if o >= target][:2]
        if head == ["PUSH_EXC_INFO", "WITH_EXCEPT_START"]:
            bodies.setdefault(target, []).append((start, end))
    blocks = []
    for ranges in bodies.values():
        # The body's first range starts right after its BEFORE_WITH (and the manager's
        # loads before that); later ranges are the same body split around nested blocks.
        first = min(start for start, _ in ranges)
        before = [o for o in order if o < first]
        while before and instrs[before[-1]].opcode not in _BEFORE_WITH_OPS:
            before.pop()
        if not before:
            continue
        before.pop()  # the BEFORE_WITH
        run: list[tuple[str, str]] = []
        while before:
            ins = instrs[before.pop()]
            if ins.opname in _ATTR_LOADERS:
                run.insert(0, (ins.opname, ins.argval))
                continue
            if ins.opname in _BASE_LOADERS:
                run.insert(0, (ins.opname, ins.argval))
            elif run and ins.opname in _FUSED_LOADS:
                run.insert(0, ("LOAD_FAST", ins.argval[1]))
            break
        if run and run[0][0] in _BASE_LOADERS:
            # A nested block's body is covered by its own handler only: the outer body
            # is the whole span, from its first range to the end of its last.
            blocks.append((first, max(end for _, end in ranges), tuple(run)))
    if len(_with_cache) > 1024:
        _with_cache.clear()
    got = _with_cache[code] = tuple(blocks)
    return got


def _in_raw_rlock_with(frame: FrameType) -> bool:
    """frame (the program's) is inside ``with lk:`` where lk is a plain RLock (or a
    Condition over one) made before the run, held by this thread.

    The handler's question at every preemption: such a lock is owned by the thread, so
    the next goroutine would enter it. The manager is found without running code
    (``_resolve``); ``acquire()``/``release()`` pairs are not seen (docs/design.md).
    """
    blocks = _with_blocks(frame.f_code)
    if blocks:
        lasti = frame.f_lasti
        for start, end, expr in blocks:
            if start <= lasti < end:
                cm = _resolve(frame, expr)
                if isinstance(cm, threading.Condition):
                    cm = getattr(cm, "_lock", None)
                if type(cm) in RAW_RLOCK_KINDS and cm._is_owned():
                    return True
    return False

_instr_cache: dict[CodeType, dict[int, dis.Instruction]] = {}


def _instructions(code: CodeType) -> dict[int, dis.Instruction]:
    got = _instr_cache.get(code)
    if got is None:
        got = {i.offset: i for i in dis.get_instructions(code)}
        if len(_instr_cache) > 256:
            _instr_cache.clear()
        _instr_cache[code] = got
    return got


def lock_wait_at(frame: FrameType) -> bool:
    """frame is at a lock acquire: ``with`` entering a C context manager, or a call of ``.acquire``.

    Read from the instruction at ``f_lasti`` of the thread's innermost Python frame:
    ``BEFORE_WITH`` there means ``__enter__`` is C (a Python one would be a frame
    above). For a call, the callee is named by the ``LOAD_ATTR``/``LOAD_METHOD`` that
    starts at the same source position as the call expression (arguments start
    further right), so ``self.lock.acquire(timeout=t)`` names ``acquire``.
    """
    code = frame.f_code
    lasti = frame.f_lasti
    op = code.co_code[lasti] if 0 <= lasti < len(code.co_code) else -1
    if op == _BEFORE_WITH:
        return True
    if op not in _CALLS:
        return False
    instrs = _instructions(code)
    call = instrs.get(lasti)
    if call is None or call.positions is None:
        return False
    start = (call.positions.lineno, call.positions.col_offset)
    name = None
    for off in range(lasti - 2, -1, -2):
        ins = instrs.get(off)
        if ins is None or ins.positions is None:
            continue
        if ins.positions.lineno != start[0]:
            break
        if ins.opname in _LOADERS and (ins.positions.lineno, ins.positions.col_offset) == start:
            name = ins.argval
            break
    return name == "acquire"
