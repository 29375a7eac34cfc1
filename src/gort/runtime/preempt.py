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

For C between frames, tracing callbacks, gort's own frames and the
no-preempt modules the handler arms the one-shot hook (below) on the caller of
the lowest frame entered from C or the outermost frame of gort or of such a
module, whichever is lower: the outermost Python frame under the boundary.
The G stops as soon as the whole call chain has returned (without it, a loop
spending most of its time in ``queue`` or ``logging`` waited for a request
that landed outside: slices of 40-300 ms, stalls of seconds);
``stats()["preempt_deferred"]`` counts each deferral by reason. The
synchronous safe points obey the rules for C between frames and tracing
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
The hook's own callback is gort's, not a point where the eval loop checks: a
request landing inside it (3.12+: INSTRUCTION events are the code's, so the
callback runs for every frame of the hooked code) that arms the hook again on
the frame it ran for finds that frame between two instructions, not in a
call, so that hook switches only at a RESUME, a back edge or the first
instruction after a call, and at a plain return hands itself to the caller.

A frame holding a lock made before gort in a ``with`` block waits for the
block's release before the hook goes on its next instruction: the bound
``__exit__`` on its value stack is replaced by ``_watched_exit``, which every
way out of the block calls (the end, return, an exception), and which calls
back ``exit_ran`` (``_watch_exits``). Rejected: the hook on every instruction
until the release (a loop computing in the block ran about 100 times slower),
and a watch on call events (blind to a block left by an exception: docs/design.md).

Measured choice (see docs/design.md): the handler-only design (switch at back
edges and entries, otherwise wait for the next signal) never preempted a
loop whose time goes into C calls: every signal was handled at the check
after a call, 52 of 52 deliveries in ``while ...: sum(range(2000))``. Asking
for another look at the very next check from inside the handler does not
work either: the handler's own call re-enters it (RecursionError on 3.11
and 3.13). Hence handler switch where it is safe, hook where it is not.
"""

from __future__ import annotations

import _thread
import bisect
import ctypes
import dis
import functools
import importlib
import inspect
import sys
import threading
import weakref
from collections.abc import Callable
from types import (
    BuiltinMethodType,
    CodeType,
    CoroutineType,
    FrameType,
    GeneratorType,
    MethodDescriptorType,
    MethodType,
    MethodWrapperType,
)
from typing import Any, Final, TypeVar

from greenlet import getcurrent, greenlet

from . import proc
from .chan import operation_returned_at
from .g import G, Gstatus
from .m import set_turn_hook
from .mfinal import Finq
from .sched import Sched
from .stack import Stack
from .symtab import (
    GENERATOR_KINDS,
    advanced_by,
    attribute_hook_call,
    callee,
    callee_kinds,
    entering_manager,
    entry_codes,
    exception_table,
    frame_values,
    has_stack_layout,
    instr_start,
    instructions,
    iterator_next_call,
    op_at,
    slot_call,
    stack_call_arg,
    stack_call_self,
    swap_stack_slot,
    with_exits,
    with_managers,
    with_statement_call,
)
from .threadlock import RAW_RLOCK_KINDS, _allocate_raw
from .traceback import is_gort_file

# Opcodes where the eval loop checks for signals between instructions.
SAFE_OPCODES: Final = frozenset(
    op for name, op in dis.opmap.items()
    if name == "RESUME" or ("JUMP_BACKWARD" in name and "NO_INTERRUPT" not in name)
)

# The finalizer goroutine's frames that run the program's finalizers through C: the
# collection's gc.collect call and the trash drop (_finalizer_lock_wait).
_FINALIZER_CALLERS: Final = frozenset((Finq.collect.__code__, Finq.run.__code__))

_USER: Final = 0
_BASE: Final = 1  # gort's entry frame of a goroutine (gmain, run_path): the walk stops here
_MAIN: Final = 4  # the script's module frame (the main goroutine's base; user code)
_RUNTIME: Final = 2  # gort's own code
_MODULE: Final = 3  # a module in the no-preempt list

_BEFORE_WITH: Final = dis.opmap["BEFORE_WITH"]
# PRECALL too: 3.11 runs a specialised call of a builtin inside PRECALL (f_lasti stays there).
_CALLS: Final = frozenset(op for name, op in dis.opmap.items()
                          if name.startswith(("CALL", "PRECALL")))
# The calls after which the eval loop checks for signals (a C callee's return; a Python
# callee checks at its RESUME): every call but the intrinsics (3.12+), which run no code
# of the program's.
_EVAL_CHECKED_CALLS: Final = frozenset(op for op in _CALLS
                                       if "INTRINSIC" not in dis.opname[op])

# Deferral reasons (gort.stats()["preempt_deferred"] keys, with ": hooked" or ": no hook").
C_BETWEEN: Final = "C between frames"
TRACING: Final = "tracing callback"
RLOCK_HELD: Final = "thread lock held"
SWITCHING: Final = "scheduler switch"
"""A request that landed in gort's own switch into or out of the G (no frame of the
program on its stack), or on 3.11 with gort's frames on the walk and its tracing muted
(check): no hook."""

# Deferrals not asked again at the next check (Preempter.retry_soon): gort's own code
# (it reaches its switch by itself), C between frames (may run long), a held lock (the
# hook waits for its release, or the next request).
_NO_RETRY: Final = frozenset({SWITCHING, "runtime", C_BETWEEN, RLOCK_HELD})

# The events a sys.settrace callback is called with (its second argument).
_TRACE_EVENTS: Final = frozenset({"call", "line", "return", "exception", "opcode"})

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
T = TypeVar("T")


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
        self.inflight: dict[CodeType, frozenset[int]] = {}  # _fire's: _exception_in_flight
        self.armed_frame: FrameType | None = None
        self.checking = False  # do_sig_preempt is inside check (a nested signal waits)
        # How many times the handler's or a safe point's own look raised the thread's
        # tracing counter (_look): subtracted to see the program's callbacks.
        self.muting = 0
        self.armed_g: G | None = None
        # The armed frame was stopped between two instructions by the hook's own callback
        # (arm): it switches only at a point where the eval loop checks for signals.
        # armed_prev is the last of its instructions the hook saw (_eval_check_point).
        self.armed_between = False
        self.armed_prev = -1
        # The call just before the armed frame's next instruction (_eval_check_point),
        # or -1: _after_operation reads its callee.
        self.armed_prev_call = -1
        # The plain locks the armed frame holds in with blocks: the hook waits for their
        # release (empty: an ordinary hook).
        self.armed_locks: list[Any] = []
        # The hook waits for those locks' release at the calls of the blocks' __exit__,
        # replaced on the frame's value stack (_watch_exits), not on every instruction.
        self.armed_watch = False
        self.ref = weakref.ref(self)  # what the replaced exits call back through
        # arm_after_wait's hook: the line of the blocking call, where it never raises
        # (-1: any line).
        self.armed_line = -1
        # 3.11: armed below the program's trace function, on the caller of the frame it
        # traces: the frame may run on for long (a loop traced line by line), so later
        # requests look again instead of trusting the hook (do_sig_preempt).
        self.armed_soft = False
        # The last answer found nothing to hook where the G will be gone within an
        # instruction or an event: inside a Python tracer's callback (3.11: a goroutine
        # looping in its own function under sys.settrace), or in a call with no hook
        # possible (3.11 under a C tracer). The handler asks again at the next
        # eval-breaker check and sysmon re-sends sooner (Signals.sighandler,
        # Sysmon.retake read it; each answer sets it). At sysmon's usual pace (2-10 ms)
        # main's 1 ms sleeps took 1.8-3.6 s beside four goroutines under a tracer doing
        # real work per event: nearly every request landed inside it.
        self.retry_soon = False
        # 3.11: what the armed frame had before the hook (restored on disarm).
        self.saved_trace: Any = None
        self.saved_opcodes = False
        self.tool_id = -1
        self._tstate_get, self._enter_tracing, self._leave_tracing = tracing_api()

    # -- setup -----------------------------------------------------------------

    def start(self) -> bool:
        """Start; False if 3.12+ has no sys.monitoring tool id free for the hook.

        gort takes tool id 4, or 3 if 4 is taken, for the length of the run (ids 0-2
        and 5 are PEP 669's for debuggers, coverage, profilers and optimizers).
        """
        self.started = True
        mon = _MONITORING
        if mon is None:
            return True
        for tool in (4, 3):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "gort")
                mon.register_callback(tool, mon.events.INSTRUCTION, self._monitor_hook)
                self.tool_id = tool
                return True
        return False

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

    def check(self, gp: G, frame: FrameType | None, modules: bool = True,
              plain: bool = True) -> tuple[str, FrameType | None]:
        """(why gp, interrupted at frame, may not be switched out, where to hook); ("", None).

        Walks from the interrupted frame to the G's entry frame (Go:
        isAsyncSafePoint, which likewise never preempts the runtime itself).
        Unsafe: the runtime's locks (no hook); a frame of gort or (``modules``)
        of a no-preempt module; a tracing callback running; C between two of
        the frames (stack.py); a plain lock held. The hook frame is the caller
        of the lowest frame the switch may not happen above (the outermost
        frame of gort or of such a module, or the lowest frame entered from C),
        the outermost Python frame below them all: its next instruction runs
        once the whole call chain has returned. When the program holds a plain
        lock in a ``with`` at or below that frame, the hook is the outermost
        such frame instead (it waits there for the locks' release, _fire).
        ``plain``: a plain Lock held in a with block counts (RLocks always do).
        """
        if self.s.m0.locks:
            return "locks", None
        layout = self.layout
        cut: FrameType | None = None  # the lowest frame no switch may happen above
        cut_at = -1  # its place in the walk (0: the interrupted frame)
        inside = ""  # the outermost frame of gort or of a no-preempt module: its name
        runtime = False  # a frame of gort's own is on the walk
        user: list[tuple[int, FrameType]] = []
        f = frame
        at = 0
        gr: Any = None  # the greenlet whose frames the walk is in (None: the current one)
        cut_back: FrameType | None = None  # the frame after cut in the walk
        while f is not None:
            kind, what = self._classify(f)
            if kind == _BASE:
                break
            back = f.f_back
            junction = False
            if back is None and kind != _MAIN:
                # The first frame of a greenlet the goroutine made (a greenlet-based
                # library): its stack goes on in the greenlet that switched here, whose
                # frames may sit above C (a BufferedWriter's Python raw.write switching
                # into a greenlet: adversarial round 6, R1). Only greenlet's switch
                # between: never C between itself.
                gr, back = _greenlet_below(gp, gr)
                junction = back is not None
            if kind == _RUNTIME or (kind == _MODULE and modules):
                # Not switched out inside, whatever called it (a with statement's
                # __enter__, a C function): its caller's next instruction comes after.
                inside, cut, cut_at, cut_back = what, f, at, back
                runtime = runtime or kind == _RUNTIME
            else:
                user.append((at, f))
                if kind == _MAIN or back is None:
                    break  # back None: the thread's first frame (outside gort's entry points)
                # A suspended greenlet's frames: 3.11 keeps the entry flag in the frame;
                # on 3.12+ the shim frames were on a C stack greenlet copied away, and
                # greenlet relinks the frames over them when gr_frame is read (its
                # expose_frames): C between cannot be seen there, so it is assumed and
                # _exempt decides from the caller's call instruction.
                if (not junction and layout is not None
                        and (layout.c_entered(f) if gr is None
                             else layout.is_entry < 0 or layout.c_entered_suspended(f))
                        and not self._exempt(gp, f, back)):
                    cut, cut_at, cut_back = f, at, back
            f = back
            at += 1
        below = cut_back
        if below is not None and self._classify(below)[0] not in (_USER, _MAIN):
            below = None  # never hook gort's entry frame, nor a no-preempt module's
        if cut is None and self._in_callback():
            below = None  # a tracing callback with no boundary seen: never hook inside it
        # 3.11, the counter raised with gort's frames on the walk: most likely gort's own
        # switch (proc.schedule mutes the stretch around it, Sched.tcount), where the
        # handler runs after a call returns. sys.settrace there leaves CPython's per-call
        # tracing flag off (it turns it on only at a count of 0, and schedule puts the
        # count back with a plain store), so the hook never fired and every later signal
        # found it in place: a spinner ran on forever (tl_mkstemp, CI under load, 1 run in
        # 100). No hook then: sysmon asks again. (A profile callback calling gort is also
        # left to the next request.) Before the lock checks: no hook means no hook.
        muted = runtime and _MONITORING is None and self._in_callback()
        if muted or (not user and (runtime or self._in_callback())):
            # Or no frame of the program at all, only gort's own or its raised count:
            # g0_main about to switch into a G it made running, gmain's first or last
            # instructions (3.13, CI: counted as "runtime: no hook" or "tracing
            # callback: no hook", 1 request in 80 at a 50 us slice). Nothing to hook;
            # gort's code there reaches fn() or the switch out by itself.
            return SWITCHING, None
        # A plain lock held by `with` in one of the program's frames (B3): hooked in the
        # outermost such frame when the boundary (if any) is above it; the hook waits
        # there for the block's end (_fire). Where that frame is itself above the
        # boundary, the hook below the boundary runs after it has returned. Without a
        # hook the next request had to land outside the block, and a goroutine looping
        # around `with lk:` was never switched out (adversarial round 4, B3: a hang).
        for uat, uf in reversed(user):
            if _raw_locks_held_in(uf, plain):
                if uat > cut_at and not (cut is None and self._in_callback()):
                    return RLOCK_HELD, uf
                return RLOCK_HELD, below
        if inside:
            return inside, below
        if self._in_callback():
            return TRACING, below
        if cut is not None:
            return C_BETWEEN, below
        # Asked last, only where the G would be switched out now: every hook asks again
        # when it fires (a logging handler's lock, taken by acquire() on 3.11, is
        # released by the time the logging call returns).
        if self.rlock_owned():
            return RLOCK_HELD, None  # taken by acquire(): no block end to wait for
        return "", None

    def rlock_owned(self) -> bool:
        """The M's thread owns a plain RLock made before gort (threadlock.find_raw_rlocks).

        One C call per lock through the method descriptor (``map``), no generator
        frame: about 25 % less than ``any(lk._is_owned() for ...)``; still one memory
        access per lock (100 000 of them: about 9 ms; adversarial round 4, B6,
        docs/design.md). Asked only where the G would otherwise be switched out.
        """
        s = self.s
        return (any(map(_C_RLOCK_IS_OWNED, s.raw_crlocks))
                or any(lk._is_owned() for lk in s.raw_pyrlocks))

    def _exempt(self, gp: G, f: FrameType, back: FrameType) -> bool:
        """C between f and back that cannot hurt: not counted as C between."""
        layout = self.layout
        assert layout is not None
        if layout.resumed_by_eval_loop(f) and advanced_by(f, back):
            # A generator resumed by FOR_ITER/SEND: only gen_send_ex between. Not when
            # the caller advances a C iterator over it (tee's next, holding its
            # "running" flag: "cannot re-enter the tee iterator") or the generator is
            # being finalized from C (islice dropped it: a raise there is unraisable):
            # adversarial round 7, every run of either.
            return True
        # gmain calling the goroutine's function through CPython's call machinery (a
        # partial, a class, a bound method, f(*args) on 3.11): the C is the call itself.
        if self._classify(back)[0] == _BASE and f.f_code in entry_codes(gp.fn):
            return True
        # The same for gort's user-code boundaries (WaitGroup.go, Once.do, errgroup...)
        # and entry points (a script's own gort.run(main) hosted by `gort run`): they
        # call a function they were given; f is that call if one of their locals enters
        # f's code. (A C callable given to them, calling back, does not match.)
        if back.f_code in USER_BOUNDARY_CODES or self._classify(back)[0] == _BASE:
            return any(callable(v) and f.f_code in entry_codes(v)
                       for v in frame_values(back))
        # Any frame calling a Python callable through C call machinery only:
        # ``fn(*args)`` (CALL_FUNCTION_EX on 3.11), a class (type_call, then
        # __init__), a partial, an instance with a Python __call__. That C holds
        # nothing; a C function calling back (``buf.write(*a)`` reaching a Python
        # raw.write, ``sorted(key=f)``) resolves to the C function and stays C between.
        if self._classify(back)[0] in (_RUNTIME, _BASE):
            return False  # never read a runtime frame's locals (they are mid-update)
        if with_statement_call(f, back) or attribute_hook_call(f, back) \
                or iterator_next_call(f, back) or slot_call(f, back):
            # A with statement, a property or __getattr__, a class's __next__, an
            # operator's or a built-in's special method (c[k], a + b, f"{c}", len(c)).
            return True
        fn = callee(back, callee_kinds(f))
        if layout.is_generator(f) and (_resumes_generator(fn) or fn in _GEN_CONSUMERS) \
                and _resumes_own(f, back, fn):
            # next(gen), gen.send(v) (contextlib's context managers): only builtin_next
            # and gen_send_ex between, as under FOR_ITER. A second goroutine resuming
            # the same generator meanwhile gets "generator already executing", as a
            # second thread would. A builtin consuming it whole (any(g), sum(g),
            # list(g)...) holds nothing either: the object it builds is its own.
            return True
        if fn is exec or fn is eval:
            return True  # the code it runs, straight from the eval loop: holds nothing
        return f.f_code in entry_codes(fn)  # through CPython's call machinery only

    def runtime_frame(self, frame: FrameType) -> bool:
        """A frame from ``frame`` down to the G's entry is gort's own or a no-preempt
        module's (sigqueue.py asks: a program's handler is not run there at once).

        The modules' frames count too: threading, queue and logging juggle their locks in
        Python, and a handler that raised inside Condition.wait, after the waiter's
        acquire returned and before ``_acquire_restore`` took the Condition's lock back,
        left the ``with cv:`` to release a lock it did not hold ("release unlocked lock":
        adversarial round 11, a signal that came while main was parked there was run at
        main's first instruction after the park, 1 to 4 runs in 6). Queued, its exception
        reaches main as a preemption's would: once the module's call has returned.
        """
        f: FrameType | None = frame
        while f is not None:
            kind = self._classify(f)[0]
            if kind == _BASE:
                return False
            if kind in (_RUNTIME, _MODULE):
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
        self.retry_soon = False  # this answer decides anew (_defer)
        gp = mp.curg
        finalizer = lock_wait and gp is not None and s.finq is not None and gp is s.finq.g \
            and gp.status is Gstatus.RUNNING  # never asked to stop: only its lock wait
        if not (self.want_async_preempt(gp) or finalizer) or frame is None or self.checking:
            # Withdrawn (the G already stopped, or the M is idle), or a signal that came
            # while this handler was still looking: the outer one answers it.
            return
        assert gp is not None
        if self._look(self._answer, gp, frame, lock_wait):
            proc.gopreempt_m(gp, True)

    def _in_callback(self) -> int:
        """The thread's tracing counter as the program's callbacks raised it (non-zero:
        one of them runs on the G's stack), without the raise of our own look."""
        return self.tracing.value - self.muting

    def _look(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args), a look that changes the hook's state and the M's turn-end hooks
        (the handler's answer, a safe point's, the hook's disarm): under ``checking``,
        so a SIGURG handled meanwhile leaves the request to this look (one landing in
        the middle of a safe point's arm re-entered it: StopIteration or "dictionary
        changed size during iteration" out of the program's gort.select, 3 runs in 75
        of tracer_calls_gort.py trace under load), and on 3.12+ with the thread's
        tracing raised (PyThreadState_EnterTracing): the program's monitoring
        callbacks ran on the handler's own frames, calling gort in the middle of the
        look, and a nested request re-armed the hook inside set_turn_hook's update (a
        stale hook, preemption stalled for 1 s: tracer_calls_gort.py monitoring, 3.13,
        1 run in 12). Not on 3.11: there Enter/LeaveTracing also set CPython's per-call
        tracing flag, which greenlet carries per greenlet, and a goroutine started
        meanwhile got no event of its life (settrace_spin.py at 50 us, 1 run in 12)."""
        outer, self.checking = self.checking, True
        try:
            if _MONITORING is None:
                return fn(*args)
            tstate = self._tstate_get()
            self._enter_tracing(tstate)
            self.muting += 1
            try:
                return fn(*args)
            finally:
                self.muting -= 1
                self._leave_tracing(tstate)
        finally:
            self.checking = outer

    def _answer(self, gp: G, frame: FrameType, lock_wait: bool) -> bool:
        """do_sig_preempt's decision: True to switch gp out now; else the hook is armed
        (or not) and the deferral counted."""
        # A plain Lock locked in one of the waiter's with blocks is not evidence that the
        # waiter holds it: Condition.wait released it and waits to take it back, while
        # another goroutine holds it (a Condition over a Lock made before gort, `with cv:
        # cv.wait()`: the waiter blocked the thread for good, adversarial round 10, F1).
        # A plain Lock the waiter does hold is a thread's lock order, as between threads.
        if lock_wait and lock_wait_at(frame) and \
                (not self.check(gp, frame, modules=False, plain=False)[0]
                 or self._finalizer_lock_wait(gp, frame)):
            self.s.stats.preempt_lock_wait += 1
            return True
        if self.armed_frame is not None:
            if not self.armed_soft and self._armed_on_stack(frame) and self._hook_in_place():
                return False  # a hook is already waiting for this G's next instruction
            # Its frame returned without running another instruction (hooked at a
            # profile function's "return" event, say): it would never fire. (A soft
            # hook, below a trace function, is looked at again: arm.)
            self.disarm()
        reason, below = self.check(gp, frame)
        if reason:
            self._defer(gp, reason, below)
            return False
        if frame.f_code.co_code[frame.f_lasti] in SAFE_OPCODES:
            return True
        if self.arm(gp, frame):
            self._deferred("in call: hooked")
        else:
            # (3.11 under a C tracer, coverage's: no hook can be armed, and a goroutine
            # polling with time.sleep got every request right after the sleep, never at
            # its loop's back edge: it was never switched out. Asked again at the next
            # check, the back edge's.)
            self.retry_soon = _MONITORING is None
            self._deferred("in call: no hook")
        return False

    def _finalizer_lock_wait(self, gp: G, frame: FrameType) -> bool:
        """gp is the finalizer goroutine, waiting for a thread lock in a finalizer (a
        ``__del__``, a weakref callback) that its collection or its trash drop runs:
        the program's frames down to that call, C only where the collector (or the
        dealloc) called the lowest one, no RLock of the program held in a with, no
        tracing callback. Switched out there, as a finalizer that parks is (mfinal.py:
        its limits); refused, the finalizer blocked the thread while the goroutine
        holding the lock, made before gort, waited to run (adversarial round 12,
        finding 4: every run)."""
        finq = self.s.finq
        layout = self.layout
        if finq is None or gp is not finq.g or layout is None or self._in_callback():
            return False
        f: FrameType | None = frame
        while f is not None:
            if self._classify(f)[0] != _USER or _raw_locks_held_in(f, False):
                return False
            back = f.f_back
            if back is None:
                return False
            if back.f_code in _FINALIZER_CALLERS:
                return True
            if layout.c_entered(f) and not self._exempt(gp, f, back):
                return False
            f = back
        return False

    def _callback_above(self, frame: FrameType) -> FrameType | None:
        """3.11: the entry frame of the Python trace function's callback running above
        frame on this greenlet's chain (the outermost frame of the program's passed its
        own caller and an event name: the traced frame), or None if there is none.

        Read while the callback runs (tracing raised), from the handler or a gort call
        inside it; never a frame of gort's (its locals may be mid-update).
        """
        f: FrameType | None = sys._getframe(1)
        entry = None
        while f is not None and f is not frame:
            back = f.f_back
            if back is not None and self._classify(f)[0] == _USER:
                got = frame_values(f)[:3]
                if any(v is back for v in got) and any(
                        type(v) is str and v in _TRACE_EVENTS for v in got):
                    entry = f
            f = back
        return entry if f is frame else None

    def _armed_on_stack(self, frame: FrameType | None) -> bool:
        armed = self.armed_frame
        gr: Any = None
        while frame is not None:
            if frame is armed:
                return True
            back = frame.f_back
            if back is None and self.armed_g is not None:
                gr, back = _greenlet_below(self.armed_g, gr)  # as check walks
            frame = back
        return False

    def _hook_in_place(self) -> bool:
        """The armed hook is still there (3.11: nothing has replaced the frame's f_trace;
        3.12+: the code still has the hook's INSTRUCTION events)."""
        frame = self.armed_frame
        if frame is None:
            return True
        if self.armed_watch:
            # Its locks released without the exits (a bare release() in the block): no
            # exit will call back in time; the request looks again.
            return any(map(_raw_lock_held, self.armed_locks))
        if self.tool_id >= 0:
            # 3.13, beside sys.settrace at a 50 us slice (1 run in 20 after this stop's
            # first change to _fire slowed its first call): the events were found gone
            # with the hook still recorded on the spinner's frame, each later request
            # found it "in place", and the spinner ran on. Not in place: armed again.
            events = _MONITORING.get_local_events(self.tool_id, frame.f_code)
            return bool(events & _MONITORING.events.INSTRUCTION)
        if _MONITORING is not None:
            return True
        # ==, not is: each read of self._trace_hook makes a new bound method. (With
        # `is` the hook always looked replaced, was saved as the frame's own tracer,
        # and then called itself when it fired: a RecursionError in the program.)
        if frame.f_trace == self._trace_hook:
            # ... and tracing still on: the program may have turned it off since
            # (``sys.settrace(old)`` with the None it read while the hook waited), and
            # then f_trace is never called.
            return _tracing_on()
        # Replaced (the program's tracer, or pdb, set f_trace meanwhile): the hook
        # would never fire, and restoring the old f_trace would undo the program's.
        # (saved_opcodes stays the frame's own value from before the arming: the flag
        # reads True since then, the hook's, and a program setting f_trace seldom sets it;
        # restored as read here, the program's tracer got opcode events it never asked for.)
        self.saved_trace = frame.f_trace
        return False

    def sync_deferred(self, gp: G) -> bool:
        """At a synchronous safe point (gp.preempt set): True if gp must not switch here.

        Same rule as the handler's, for C between frames and tracing callbacks
        (the no-preempt modules never applied to gort calls). The request stays
        pending; with asynchronous preemption on, the hook is armed below the
        boundary so the G stops as soon as the callback chain returns.
        """
        return self._look(self._sync_deferred, gp, sys._getframe(2))

    def _below_runtime(self, f: FrameType | None) -> FrameType | None:
        """The first of f and its callers that is not gort's own: the frame that made the
        gort call (chan.send, select, a lock's acquire, ...) f is in."""
        while f is not None and self._classify(f)[0] == _RUNTIME:
            f = f.f_back
        return f

    def _sync_deferred(self, gp: G, f: FrameType | None) -> bool:
        """sync_deferred's look from f, the frame above gopreempt_m."""
        reason, below = self.check(gp, self._below_runtime(f), modules=False)
        if reason == SWITCHING or (self._in_callback() and reason != RLOCK_HELD):
            # No switch runs below a gort call: a raised count is a callback's, whatever
            # else the walk found. (3.12+, a profile function calling gort.select on
            # schedule's "return" event or a signal handler's "call" event: the walk met
            # gort's frames below the callback, reason "runtime", and the G switched
            # inside the callback: the next goroutine started with the count raised,
            # and the finalizer goroutine's wait panicked "inside a profile callback".)
            reason = TRACING
        if reason == RLOCK_HELD:
            self._deferred(f"sync: {reason}")
            return True
        if not reason or reason not in (C_BETWEEN, TRACING):
            return False
        if self.armed_frame is not None:
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

    def arm(self, gp: G, frame: FrameType, held: bool = False) -> bool:
        """Make frame's next instruction switch gp out. False if no hook can be armed.

        ``held``: frame is inside ``with lk:`` over a plain lock (check): the first of its
        instructions once every such lock is released switches gp out instead (by the
        locks, not the blocks: a block's exit runs three instructions outside its range
        before the release).
        """
        soft = False
        if held:
            locks = self._watch_exits(frame)
            if locks:
                self.armed_frame = frame
                self.armed_g = gp
                self.armed_soft = False
                self.armed_locks = locks
                self.armed_watch = True
                set_turn_hook(self.s.m0, "preempt", self.disarm)
                return True
        if self.tool_id >= 0:
            _MONITORING.set_local_events(self.tool_id, frame.f_code,
                                         _MONITORING.events.INSTRUCTION)
            _renew_opcode_trace(frame)
        elif _MONITORING is None:
            current = sys.gettrace()
            if current is not None and _python_tracer() is None:
                return False  # a C tracer (coverage's CTracer) never consults f_trace
            if current is not None and self._in_callback():
                if held:
                    return False  # the locks are frame's: the next request
                # Inside the Python tracer's own callback: when it returns, CPython's
                # trace trampoline stores its result in the traced frame's f_trace,
                # over a hook there, which would never fire. Hooked on its caller
                # instead, whose next instruction comes once the traced frame returns.
                # (Left to sysmon's next signal before: a goroutine whose time went
                # into a trace function calling gort got a turn every 1-2 s beside
                # its peers' 1 ms sleeps; adversarial round 7, finding 3.)
                entry = self._callback_above(frame)
                if entry is None:
                    return False  # no callback found above frame: the next request
                if entry.f_back is frame:
                    frame = frame.f_back  # type: ignore[assignment]
                    if frame is None or self._classify(frame)[0] not in (_USER, _MAIN):
                        return False
                    soft = True
            # A Python tracer (sys.settrace(fn), pdb) calls frame.f_trace: chain in front
            # of the frame's own local tracer, leave the global one alone.
            prev = frame.f_trace
            # Never our own hook as the frame's tracer: firing would call itself until
            # the recursion limit (a hook left behind by an older arming).
            self.saved_trace = None if prev == self._trace_hook else prev
            self.saved_opcodes = frame.f_trace_opcodes
            frame.f_trace = self._trace_hook
            frame.f_trace_opcodes = True
            if current is None:
                _trace_silently()
        else:
            return False
        self.armed_frame = frame
        self.armed_g = gp
        self.armed_soft = soft
        self.armed_locks = _raw_locks_held_in(frame) if held else []
        self.armed_between = self._between_instructions(frame)
        self.armed_prev = instr_start(frame.f_code, frame.f_lasti)
        self.armed_prev_call = -1
        set_turn_hook(self.s.m0, "preempt", self.disarm)
        return True

    def disarm(self) -> None:
        """Remove the hook (when it fired, or when its G stops some other way)."""
        frame = self.armed_frame
        if frame is None:
            return
        self.armed_frame = None
        self.armed_g = None
        self.armed_soft = False
        self.armed_locks = []
        self.armed_between = False
        self.armed_line = -1
        set_turn_hook(self.s.m0, "preempt", None)
        if self.armed_watch:
            self.armed_watch = False  # the exits stay replaced, and call back for nothing
        elif self.tool_id >= 0:
            _MONITORING.set_local_events(self.tool_id, frame.f_code, 0)
            _renew_opcode_trace(frame)
        else:
            frame.f_trace_opcodes = self.saved_opcodes
            frame.f_trace = self.saved_trace
            self.saved_trace = None
            _untrace_silently()

    def _watch_exits(self, frame: FrameType) -> list[Any]:
        """Replace the bound ``__exit__`` of each with block frame is inside over a held
        plain lock (or a Condition over one) by one that calls it, then exit_ran; the
        locks so held (as _raw_locks_held_in), or [] if there are none or a block's
        exit could not be replaced."""
        lasti = frame.f_lasti
        ref = self.ref
        locks = []
        for index, exit_ in with_exits(frame):
            cm = exit_.__self__
            lk = _held_plain_lock(cm)
            if lk is None:
                continue
            locks.append(lk)
            fn = exit_.__func__ if type(exit_) is MethodType else None
            if type(fn) is functools.partial and fn.func is _watched_exit \
                    and fn.args[0] is ref:
                continue  # replaced by an earlier request of this run
            if not swap_stack_slot(frame, lasti, index, exit_,
                                   MethodType(functools.partial(_watched_exit, ref, exit_), cm)):
                return []
        return locks

    def exit_ran(self, frame: FrameType) -> None:
        """A replaced ``__exit__`` of frame's has returned (_watched_exit): if frame is the
        one waiting and none of its locks is held any longer, the hook goes on its next
        instruction (_fire, which switches the G out there)."""
        if frame is not self.armed_frame or not self.armed_watch \
                or self.s.m0.curg is not self.armed_g or self.checking:
            return
        if any(map(_raw_lock_held, self.armed_locks)):
            return  # an outer block's lock: its own exit calls back
        self._look(self._rearm, frame)

    def _defer(self, gp: G, reason: str, below: FrameType | None) -> None:
        """check's answer was unsafe (reason): arm the hook at ``below``, count the deferral."""
        if reason == RLOCK_HELD:
            if below is not None:
                self.arm(gp, below, held=True)
            self._deferred(reason)
        else:
            # The runtime, a no-preempt module, C between frames, a tracing callback:
            # the hook ends the slice when the call chain returns. (Without it the
            # next request had to land outside, which a loop spending most of its
            # time in queue or logging rarely did: slices of 40-300 ms, stalls of
            # seconds; adversarial round 4, B4.)
            hooked = below is not None and self.arm(gp, below)
            # (Or a no-preempt module's code inside a tracing callback: coverage's Python
            # tracer, "coverage: no hook". Never gort's own switch, SWITCHING: the count
            # raised there is gort's, and asking at every check of the switch hung it.)
            # (3.11 only: 3.12+ arms its hook inside callbacks, through sys.monitoring.)
            self.retry_soon = not hooked and _MONITORING is None and (
                reason == TRACING or (self._in_callback() > 0 and reason not in _NO_RETRY))
            self._deferred(f"{reason}: {'hooked' if hooked else 'no hook'}")

    def arm_after_wait(self, gp: G, frame: FrameType | None) -> None:
        """proc.pending_after_wait: hook the program's frame that made the blocking call
        (the first below ``frame`` that is not gort's) so that the exception waiting for
        gp is raised at its first eval-check point after the call's line (_fire): the
        statement that takes the call's result completes first (a received value is
        stored, ``lk.acquire()`` is followed by its ``try``), where CPython could lose
        it, raising right after the call. Only where the handler could switch gp out
        (check): else the next safe point raises it."""
        if not self.started or self.s.m0.curg is not gp:
            return
        frame = self._below_runtime(frame)
        if frame is not None and self._classify(frame)[0] in (_USER, _MAIN):
            self._look(self._arm_after_wait, gp, frame)

    def _arm_after_wait(self, gp: G, frame: FrameType) -> None:
        if self.check(gp, frame)[0]:
            return
        if self.armed_frame is not None:
            self.disarm()
        if self.arm(gp, frame):
            self.armed_line = frame.f_lineno

    def _between_instructions(self, frame: FrameType) -> bool:
        """frame is stopped between two of its instructions by the hook's own callback
        (the callback is its callee on this thread's stack), not inside a call it made."""
        f: FrameType | None = sys._getframe(1)
        while f is not None and f.f_back is not frame:
            f = f.f_back
        return f is not None and f.f_code in _HOOK_CODES

    def _eval_check_point(self, frame: FrameType) -> bool:
        """The armed frame's next instruction is one where the eval loop could have run
        the handler (a RESUME, a back edge, the first after a call the frame made since
        the hook saw it last); records that instruction as the last one seen."""
        code = frame.f_code
        at = instr_start(code, frame.f_lasti)
        prev, self.armed_prev = self.armed_prev, at
        op = op_at(code, at)
        # 3.11: from a PRECALL to its own CALL no call has run yet (a specialised PRECALL
        # that runs a builtin itself skips the CALL).
        after_call = prev != at and op_at(code, prev) in _EVAL_CHECKED_CALLS \
            and not (op == _CALL and op_at(code, prev) == _PRECALL)
        self.armed_prev_call = prev if after_call else -1
        return op in SAFE_OPCODES or after_call

    def _after_operation(self, frame: FrameType) -> bool:
        """frame's next instruction is the first after a call of a gort operation
        (chan.operation_returned_at), which _eval_check_point recorded as the last
        instruction seen."""
        prev = self.armed_prev_call
        return prev >= 0 and operation_returned_at(frame, prev)

    def _rearm(self, frame: FrameType, held: bool = False) -> None:
        """Move the hook to frame, for the same G (``held``: as arm's)."""
        gp = self.armed_g
        self.disarm()
        if gp is not None:
            self.arm(gp, frame, held)

    def _with_lock_frame(self, frame: FrameType) -> FrameType | None:
        """The outermost of frame and the program's frames below it (to the G's base)
        inside a with block over a held plain lock (check's RLOCK_HELD), or None."""
        found = None
        f: FrameType | None = frame
        while f is not None:
            kind = self._classify(f)[0]
            if kind not in (_USER, _MAIN):
                break
            if _in_raw_rlock_with(f):
                found = f
            if kind == _MAIN:
                break
            f = f.f_back
        return found

    def _fire(self, frame: FrameType) -> None:
        if frame is not self.armed_frame:
            return
        point = self._eval_check_point(frame)
        if self.armed_between and not point:
            # Armed from inside the hook's own callback, at an instruction that another
            # frame of the same code reached (a request that found the armed frame
            # returned, re-armed below the callback): switching at the next instruction
            # would cut a statement with no call in half (`d[k] += 1`, a lost update
            # on 3.13 in most runs of hook_between.py). The next instruction asks again;
            # a plain function's return hands the hook to its caller, whose next
            # instruction comes after the call (without it, a short function's code kept
            # the hook's events and each request found it stale again).
            back = frame.f_back
            if (op_at(frame.f_code, frame.f_lasti) in _RETURNS and back is not None
                    and not frame.f_code.co_flags & _RESUMABLE
                    and self._classify(back)[0] in (_USER, _MAIN)):
                self._look(self._rearm, back)
            return
        held = self.armed_locks
        if held and (self.s.m0.locks or any(map(_raw_lock_held, held))
                     or _in_raw_rlock_with(frame)):
            return  # a lock still held, or another taken: the next instruction asks again
        uf = self._with_lock_frame(frame)
        if uf is not None:
            # A plain lock taken in a with block since the hook was armed: the hook went on
            # the program's frame under threading's Condition.wait, which then took the
            # Condition's Lock back, and the switch left it held; the next goroutine
            # blocked the thread on it (adversarial round 10, F1). Wait for its release,
            # as check's hook would have.
            if uf is frame:
                self.armed_locks = _raw_locks_held_in(frame)
            else:
                self.muting += 1  # the hook's own callback raised the count
                try:
                    self._look(self._rearm, uf, True)
                finally:
                    self.muting -= 1
            return
        code = frame.f_code
        prologue = self.inflight.get(code)
        if prologue is None:
            prologue = self.inflight[code] = _exception_in_flight(code)
        if frame.f_lasti in prologue:
            # The frame is entering an exception handler: the exception is on its stack,
            # not yet in sys.exc_info(). An exception goraise left for the G, raised here
            # (gopreempt_m raises it before and after the switch), would replace it with
            # no __context__: it was lost (sig_stress: an Alarm raised in main's recv
            # vanished when the next one was raised by the hook at the except clause's
            # first instruction, 1 run in 2 under load). The next instruction asks again.
            return
        gp = self.armed_g
        # Where an exception goraise left for the G may be raised: where CPython could
        # have run the handler, but not right after a call of gort's own. There the
        # call's result is not yet stored: a value received was dropped, and a send or go
        # made looked undone (the program redid it: 4-159 goroutines started twice in
        # 30,000 at a 50 us slice, adversarial helper-71, F3). Raised at the next point,
        # or at the next operation's start.
        after_op = point and self._after_operation(frame)
        if gp is not None and gp.pending is not None and (
                not point or frame.f_lineno == self.armed_line or after_op):
            # An exception goraise left for the G (a signal handler's) is raised by the
            # switch: only where CPython could have run that handler, never between two
            # instructions it runs without a check. Raised at a with block's exit before
            # __exit__'s call (or after PUSH_EXC_INFO, before WITH_EXCEPT_START) it left
            # the lock held: main re-entered its RLock forever (adversarial round 10,
            # F2). The next instruction asks again. After a completed wait, not on the
            # call's own line either: the statement that takes the call's result (a
            # value stored, a lock's try block entered) completes first.
            return
        self._look(self.disarm)
        if self.rlock_owned():
            return  # a plain RLock taken by acquire() and still held: sysmon asks again
        if not self.want_async_preempt(gp) or self.s.m0.curg is not gp:
            return
        assert gp is not None
        tstate = self._tstate_get()
        self._leave_tracing(tstate)
        try:
            proc.gopreempt_m(gp, True, not after_op)
        finally:
            self._enter_tracing(tstate)
        if after_op and gp.pending is not None and self.s.m0.curg is gp:
            # Left while gp was switched out, right after an operation: raised at the
            # next point of this frame on another line, as after a completed wait (left
            # for the next operation alone, it came too late: a raising handler's
            # exception escaped main's try, exc_waiter.py).
            self._look(self._arm_after_wait, gp, frame)

    def _trace_hook(self, frame: FrameType, event: str, arg: Any) -> Any:
        local = self.saved_trace
        if local is not None and (event != "opcode" or self.saved_opcodes):
            # The program's local tracer sees its events: opcode events only where the
            # program asked for them (the hook's own request set f_trace_opcodes).
            new = local(frame, event, arg)
            if new is not None:  # (None keeps the frame's tracer: CPython's rule)
                local = self.saved_trace = new
        if event in ("opcode", "line"):
            # Never at "exception" or "return": the frame may be unwinding, and CPython
            # drops the exception in flight if the trace function raises (an exception
            # goraise left for the G is raised by the switch: sig_stress lost one that
            # way in 1 run of 2 under load, main's absorb never saw it).
            self._fire(frame)  # disarms (restoring f_trace), then may switch the G out
        if frame is self.armed_frame:
            # Still armed: the hook stays the frame's tracer (CPython stores a non-None
            # result in f_trace; returning the program's function there dropped the hook
            # after one event, and a hook waiting for a lock's release fired only once).
            return None
        return local

    def _monitor_hook(self, code: CodeType, offset: int) -> None:
        self._fire(sys._getframe(1))


_GREENLET_SWITCH: Final = greenlet.__dict__["switch"]
_CALL: Final = dis.opmap["CALL"]
_PRECALL: Final = dis.opmap.get("PRECALL", -2)  # 3.11 only
_RETURNS: Final = frozenset(dis.opmap[n] for n in ("RETURN_VALUE", "RETURN_CONST")
                            if n in dis.opmap)
_RESUMABLE: Final = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
# The hook's callbacks: a frame they were called for is between two instructions.
_HOOK_CODES: Final = frozenset(fn.__code__ for fn in (Preempter._monitor_hook,
                                                      Preempter._trace_hook))


def _watched_exit(ref: weakref.ref[Preempter], exit_: Any, cm: Any, *exc: Any) -> Any:
    """A with block's ``__exit__`` while a preemption waits for the block's release
    (Preempter._watch_exits): bound to the manager as the original was (``__self__``
    still names it), it calls the original, then tells the preempter."""
    try:
        return exit_(*exc)
    finally:
        pre = ref()
        if pre is not None and pre.armed_watch:
            pre.exit_ran(sys._getframe(1))


def _renew_opcode_trace(frame: FrameType) -> None:
    """3.13 (CPython's own fault): changing another tool's local events on a code object
    turns off the opcode events sys.settrace's function asked for on its frames
    (``f_trace_opcodes``): a goroutine's tracer got none after the hook's first arming
    (tests/testprog/trace_opcodes.py want: 0 of 54,009). Setting the flag again through
    a frame of the code turns them back on."""
    if frame.f_trace_opcodes and frame.f_trace is not None:
        frame.f_trace_opcodes = False
        frame.f_trace_opcodes = True


def _greenlet_kinds() -> frozenset[int]:
    """greenlet and its subclasses (a library's own greenlet class), as ``id`` of types:
    what ``g`` of ``g.switch(x)`` may be (symtab's typed reads)."""
    kinds = {id(greenlet)}
    todo = [greenlet]
    while todo:
        for sub in todo.pop().__subclasses__():
            if id(sub) not in kinds:
                kinds.add(id(sub))
                todo.append(sub)
    return frozenset(kinds)


def _greenlet_below(gp: G, gr: Any) -> tuple[Any, FrameType | None]:
    """Where gp's stack goes on below the first frame of greenlet gr (None: the current
    one), a greenlet gp made: (the greenlet that switched into gr, its suspended frame),
    or (gr, None) if that is not known or no frame is left.

    The switcher is found by following the switches from gp's own greenlet (gp.gr): each
    suspended greenlet's top frame is in a ``switch`` call, whose callee names where it
    went. (gr's parent is not always it: a sorted key in greenlet A switching to its
    sibling B left A inside list.sort while B's parent is gp's greenlet: adversarial
    round 7.) Where a suspended greenlet's call is not a switch, gr's parent chain up
    to gp.gr is taken instead.
    """
    cur = getcurrent() if gr is None else gr
    top = gp.gr
    if cur is top or top is None:
        return gr, None
    g = top
    kinds = _greenlet_kinds()
    for _ in range(64):
        frame = g.gr_frame
        if frame is None:
            break
        fn = callee(frame)
        # g.switch(x): the method descriptor and g on the stack; sw = g.switch; sw(x):
        # the bound method.
        nxt = stack_call_self(frame, kinds) if fn is _GREENLET_SWITCH \
            else getattr(fn, "__self__", None)
        if nxt is cur:
            return g, frame
        if not isinstance(nxt, greenlet):
            break
        g = nxt
    parent = p = cur.parent
    while p is not None and p is not top:
        p = p.parent
    if p is None:
        return gr, None  # not made inside gp: where it was switched from is unknown
    frame = parent.gr_frame
    return (parent, frame) if frame is not None else (gr, None)


def _exception_in_flight(code: CodeType) -> frozenset[int]:
    """Offsets in code where an exception being handled is on the frame's stack but not
    in sys.exc_info(): from each handler's first instruction to its PUSH_EXC_INFO, or to
    the RERAISE of a cleanup handler (an ``except ... as e`` name's deletion, a
    ``finally``'s or a comprehension's cleanup). A raise there drops that exception.
    """
    instrs = instructions(code)
    order = sorted(instrs)
    out: set[int] = set()
    for _start, _end, target in exception_table(code):
        for off in order[bisect.bisect_left(order, target):]:
            out.add(off)
            if instrs[off].opname in ("PUSH_EXC_INFO", "RERAISE"):
                break
    return frozenset(out)


def _python_tracer() -> Any:
    """The program's global trace function if it is Python code (sys.settrace(fn)), else None."""
    tr = sys.gettrace()
    if tr is None or _no_local_trace in (tr, getattr(tr, "__func__", None)):
        return None
    fn = getattr(tr, "__func__", tr)
    return tr if hasattr(fn, "__code__") else None


def _no_local_trace(frame: FrameType, event: str, arg: Any) -> None:
    """The global trace function while a 3.11 hook is armed, where _SILENT is not known:
    trace no new frame."""
    return None


def _silent_trace() -> tuple[int, int]:
    """3.11: (the address of CPython's trace trampoline, the offset of ``c_traceobj`` in
    the thread state), or (0, -1) where that is not found (3.12+: not needed).

    A 3.11 hook is the frame's ``f_trace``, which CPython calls only while the thread has
    a trace function: its trampoline calls a new frame's global function for "call" and
    the frame's own ``f_trace`` for the rest. Installed through ``PyEval_SetTrace`` with
    no object, the trampoline traces no new frame, as ``_no_local_trace`` does, and
    ``sys.gettrace()`` reads None: with ``sys.settrace(_no_local_trace)`` the program saw
    gort's function for as long as a hook waited (a sort's key computing for seconds),
    and one that saved and restored it (``old = sys.gettrace()``) kept it for good,
    every later call of the thread paying a trace event."""
    if sys.version_info >= (3, 12) or sys.gettrace() is not None:
        return 0, -1
    n = 64
    view = (ctypes.c_void_p * n).from_address(_tstate())

    def marker(frame: FrameType, event: str, arg: Any) -> None:
        return None

    sys.settrace(marker)
    try:
        during = view[:]
    finally:
        sys.settrace(None)
    after = view[:]
    hits = [i for i in range(2, n) if during[i] == id(marker)]
    # pystate.h: c_profilefunc, c_tracefunc, c_profileobj, c_traceobj.
    if len(hits) != 1 or not during[hits[0] - 2] or after[hits[0]] or after[hits[0] - 2]:
        return 0, -1
    return during[hits[0] - 2] or 0, 8 * hits[0]


_tstate: Final = tracing_api()[0]  # the calling thread's PyThreadState address
_SILENT: Final = _silent_trace()
_set_trace: Final = ctypes.pythonapi.PyEval_SetTrace
_set_trace.restype = None
_set_trace.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


def _trace_silently() -> None:
    """3.11: tracing on for the thread, with no global trace function (_silent_trace)."""
    if _SILENT[0]:
        _set_trace(_SILENT[0], None)
    else:
        sys.settrace(_no_local_trace)


def _thread_trace() -> tuple[int, int]:
    """3.11, where _SILENT is known: the thread's (``c_tracefunc``, ``c_traceobj``)."""
    at = _tstate() + _SILENT[1]
    return (ctypes.c_void_p.from_address(at - 16).value or 0,
            ctypes.c_void_p.from_address(at).value or 0)


def _tracing_on() -> bool:
    """3.11: the thread has a trace function (a program's, or _trace_silently's)."""
    if _SILENT[0]:
        return bool(_thread_trace()[0])
    return sys.gettrace() is not None


def _untrace_silently() -> None:
    """Undo _trace_silently, unless the program has set a trace function since."""
    if _SILENT[0]:
        if _thread_trace() == (_SILENT[0], 0):
            sys.settrace(None)
    elif sys.gettrace() is _no_local_trace:
        sys.settrace(None)


def _in_raw_rlock_with(frame: FrameType) -> bool:
    """frame (the program's) is inside ``with lk:`` where lk is a plain RLock or Lock (or a
    Condition over one) made before gort was imported, held by this thread.

    The handler's question at every preemption. A plain RLock is owned by the thread,
    so the next goroutine would enter it. A plain Lock would make the next goroutine
    that wants it block the thread; sysmon's recovery then switches that one out, but a
    holder that takes the lock again at once (a loop around ``with lk:``) is preempted
    inside its block almost every time, and the waiter starved (issue 8, F9): waiting
    for the block's end hands the lock over between two of the holder's turns. The
    manager is read from its bound ``__exit__`` on the frame's value stack, whatever
    expression made it (``with get_lock():``); ``acquire()``/``release()`` pairs are not
    seen (docs/design.md).
    """
    return bool(_raw_locks_held_in(frame))


def _raw_locks_held_in(frame: FrameType, plain: bool = True) -> list[Any]:
    """The plain locks (as for _in_raw_rlock_with) frame holds in its with blocks
    (``plain`` False: the RLocks only)."""
    held = []
    for cm in with_managers(frame):
        lk = _held_plain_lock(cm)
        if lk is not None and (plain or type(lk) in RAW_RLOCK_KINDS):
            held.append(lk)
    return held


def _held_plain_lock(cm: Any) -> Any:
    """The plain lock a with block's manager cm is (or a Condition over it) if held
    (_raw_lock_held), else None."""
    lk = getattr(cm, "_lock", None) if isinstance(cm, threading.Condition) else cm
    return lk if _raw_lock_held(lk) else None


def _raw_lock_held(lk: Any) -> bool:
    """lk is a plain RLock this thread owns, or a plain Lock that is locked."""
    kind = type(lk)
    return (kind in RAW_RLOCK_KINDS and lk._is_owned()) or (kind is _RAW_LOCK and lk.locked())


# What a lock wait's callee can be (a C method, its descriptor, a method-wrapper, a
# partial): lock_wait_at reads another thread's value stack, and takes only these.
_CALLEE_KINDS: Final = frozenset(map(id, (BuiltinMethodType, MethodDescriptorType,
                                          MethodWrapperType, functools.partial)))


def lock_wait_at(frame: FrameType) -> bool:
    """frame waits at a thread lock's acquire: ``with lk:`` or ``lk.acquire(...)`` (or an
    alias or ``functools.partial`` of either), where ``lk`` is a ``_thread`` lock or RLock
    or a ``multiprocessing`` SemLock, or at another C wait that retries after the
    handlers (a C SimpleQueue's get, 3.13's thread join), whatever
    expression names it: the callee is read
    from the frame's value stack (symtab.py), no code of the program runs.

    Those three retry their wait after running signal handlers (PEP 475), which is where
    sysmon's lock-wait signal switches the waiter out. Anything else (a C call that
    happens to be named ``acquire``, posix_ipc's, a ctypes ``sem_wait``) would see the
    signal as EINTR, so an unknown callee is never a lock wait.
    """
    code = frame.f_code
    lasti = instr_start(code, frame.f_lasti)
    op = code.co_code[lasti] if lasti >= 0 else -1
    if op == _BEFORE_WITH:
        return entering_manager(frame, _LOCK_TYPES) is not None
    if op not in _CALLS:
        return False
    fn = callee(frame, _CALLEE_KINDS)  # another thread's frame (sysmon): typed reads only
    for _ in range(8):
        if type(fn) is functools.partial:
            fn = fn.func
        elif type(fn) is _METHOD_WRAPPER and fn.__name__ == "__call__":
            fn = getattr(fn, "__self__", None)  # call = lk.acquire.__call__; call()
        else:
            break
    name = getattr(fn, "__name__", "")
    kind = _SIMPLE_QUEUE if name == "get" else _THREAD_HANDLE if name == "join" else None
    if kind is not None:
        # A C wait of its own that runs the handlers on EINTR and waits again, as a
        # lock's acquire (see _SIMPLE_QUEUE).
        owner = getattr(fn, "__self__", None)
        if owner is None or isinstance(owner, type):
            return getattr(fn, "__objclass__", None) is kind
        return type(owner) is kind
    if name not in _ACQUIRES:
        return False
    owner = getattr(fn, "__self__", None)  # lk.acquire, or an alias of it
    if owner is None or isinstance(owner, type):
        # type(lk).acquire: a method call's descriptor (the stack holds lk above it),
        # or ExitStack's type(lk).__enter__(lk)
        owner = getattr(fn, "__objclass__", None)
        return owner in _LOCK_TYPES
    return _is_thread_lock(owner)


# Builtins that consume a generator whole and hold nothing while it runs (the list,
# set or sum they build is theirs alone): a generator they resume is not C between.
_GEN_CONSUMERS: Final = frozenset((any, all, sum, min, max, sorted, list, tuple, set,
                                   frozenset, dict, str.__dict__["join"],
                                   bytes.__dict__["join"]))


def _resumes_own(f: FrameType, back: FrameType, fn: Any) -> bool:
    """The generator that back's call of fn (next, a generator's send, a consumer such as
    list) resumes is f's own, not a C iterator over it (``next(islice(g, 1))``,
    ``list(tee(g)[0])``, ``next(zip(g))``: tee re-entered, a finally run from the
    generator's deallocation cut in half, "generator already executing" for a second
    goroutine, in every run; adversarial round 8). True where the stack layout is not
    known (the frames alone cannot tell)."""
    if not has_stack_layout():
        return True
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, (GeneratorType, CoroutineType)):
        obj = owner  # a bound send/__next__/throw
    elif fn is next or fn in _GEN_CONSUMERS:
        obj = stack_call_arg(back, GENERATOR_KINDS)
    else:
        obj = stack_call_self(back, GENERATOR_KINDS)  # gen.send(v): the method's self
    return any(getattr(obj, a, None) is f for a in ("gi_frame", "cr_frame", "ag_frame"))


def _resumes_generator(fn: Any) -> bool:
    """fn is ``next`` or a generator's ``send``/``__next__``/``throw`` (bound)."""
    if fn is next:
        return True
    if getattr(fn, "__name__", "") not in ("send", "__next__", "throw"):
        return False
    owner = getattr(fn, "__self__", None)
    if owner is None:  # gen.send(v) as a method call: the descriptor, gen above it
        return getattr(fn, "__objclass__", None) in (GeneratorType, CoroutineType)
    return inspect.isgenerator(owner) or inspect.iscoroutine(owner)


def _lock_types() -> tuple[type, ...]:
    kinds: list[type] = [type(_allocate_raw()), *RAW_RLOCK_KINDS]
    try:
        kinds.append(importlib.import_module("_multiprocessing").SemLock)
    except (ImportError, AttributeError):  # a build without it
        pass
    return tuple(k for k in kinds if k.__module__ != "threading")  # C types: retry loops


_LOCK_TYPES: Final = _lock_types()
_RAW_LOCK: Final = type(_allocate_raw())
_C_RLOCK_IS_OWNED: Final = RAW_RLOCK_KINDS[0]._is_owned  # type: ignore[attr-defined]
_ACQUIRES: Final = frozenset(("acquire", "__enter__", "acquire_lock"))


# C waits other than a lock's acquire that run the signal handlers on EINTR and wait
# again, by method name: a C queue.SimpleQueue's get (made before gort:
# Modules/_queuemodule.c's wait loop), and 3.13's Thread.join, which waits in
# _thread._ThreadHandle.join (ThreadHandle_join: Py_MakePendingCalls, then again; 3.11's
# join waits on a lock's acquire). A goroutine joining a thread that needs the M (a gort
# call from it) blocked the M for good there. Module globals, not a dict: threadlock's
# rebinding pass replaces the C SimpleQueue wherever else it is referenced.
_SIMPLE_QUEUE: Final = getattr(importlib.import_module("_queue"), "SimpleQueue", None)
_THREAD_HANDLE: Final = getattr(_thread, "_ThreadHandle", None)
_METHOD_WRAPPER: Final = type(object().__str__)


def _is_thread_lock(obj: Any) -> bool:
    return isinstance(obj, _LOCK_TYPES)
