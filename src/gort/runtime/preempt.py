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
preemption is still wanted) and ``is_async_safe_point`` both hold:

- no frame of the G's stack, from the interrupted one down to the G's entry,
  is gort's own code, or code of a module that holds thread locks or the
  import lock across Python code (threading, queue, logging, importlib,
  concurrent.futures, ...; ``Debug.nopreempt_modules``, extendable with
  GORT_NOPREEMPT); a G switched out inside ``queue.Queue.put`` would leave
  the queue's lock held for the next G on the same thread;
- the runtime has not disabled preemption (``m.locks > 0``);
- the interrupted instruction (``frame.f_lasti``) is a loop back-edge or a
  function entry (``RESUME``): the eval loop checks for signals there, between
  instructions, with no C code of the G's in progress.

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
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, Final, TypeVar

from . import proc
from .g import G, Gstatus
from .sched import Sched
from .traceback import is_gort_file

# Opcodes where the eval loop checks for signals between instructions.
SAFE_OPCODES: Final = frozenset(
    op for name, op in dis.opmap.items()
    if name == "RESUME" or ("JUMP_BACKWARD" in name and "NO_INTERRUPT" not in name)
)

_USER: Final = 0
_BASE: Final = 1  # a goroutine's entry frame: the walk stops here, safe
_RUNTIME: Final = 2  # gort's own code
_MODULE: Final = 3  # a module in the no-preempt list

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


def _tracing_api() -> tuple[Callable[[], Any], Callable[[Any], None], Callable[[Any], None]]:
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

    def __init__(self, s: Sched, base_codes: tuple[CodeType, ...]) -> None:
        self.s = s
        self.modules = tuple(s.debug.nopreempt_modules)
        self.base_codes = frozenset(base_codes)
        self.codeclass: dict[CodeType, tuple[int, str]] = {}
        self.armed_frame: FrameType | None = None
        self.armed_g: G | None = None
        # 3.11: what the armed frame had before the hook (restored on disarm).
        self.saved_trace: Any = None
        self.saved_opcodes = False
        self.tool_id = -1
        self._tstate_get, self._enter_tracing, self._leave_tracing = _tracing_api()

    # -- setup -----------------------------------------------------------------

    def start(self) -> None:
        mon = _MONITORING
        if mon is not None:
            for tool in (4, 3):  # ids 0-2 and 5 are reserved for debuggers, coverage,
                if mon.get_tool(tool) is None:  # profilers, optimizers (PEP 669)
                    mon.use_tool_id(tool, "gort")
                    mon.register_callback(tool, mon.events.INSTRUCTION, self._monitor_hook)
                    self.tool_id = tool
                    break

    def close(self) -> None:
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
        """Why the G interrupted at ``frame`` may not be switched out; "" if it may.

        Walks from the interrupted frame to the G's entry frame (Go:
        isAsyncSafePoint, which likewise never preempts the runtime itself).
        """
        if self.s.m0.locks:
            return "locks"
        tracer = _python_tracer()
        tracer_code = getattr(getattr(tracer, "__func__", tracer), "__code__", None)
        f = frame
        while f is not None:
            if f.f_code is tracer_code:
                return "tracer"  # inside the program's trace function: a trace callback
            kind, what = self._classify(f)
            if kind == _BASE:
                return ""
            if kind != _USER:
                return what
            f = f.f_back
        return ""

    # -- the handler's part (Go: doSigPreempt) --------------------------------

    def do_sig_preempt(self, frame: FrameType | None) -> None:
        """Answer one preemption request on the M's thread; switch the G out if safe."""
        s = self.s
        mp = s.m0
        mp.preempt_gen += 1
        gp = mp.curg
        if not self.want_async_preempt(gp) or frame is None:
            return  # withdrawn: the G already stopped, or the M is idle
        assert gp is not None
        if mp.armed is not None:
            return  # a hook is already waiting for this G's next instruction
        reason = self.unsafe_reason(gp, frame)
        if reason:
            self._deferred(reason)
            return
        if frame.f_code.co_code[frame.f_lasti] in SAFE_OPCODES:
            proc.gopreempt_m(gp, True)
            return
        if self.arm(gp, frame):
            self._deferred("in call: hooked")
        else:
            self._deferred("in call: no hook")

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
