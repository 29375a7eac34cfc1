"""Reading code objects: the facts the runtime takes from bytecode (Go: symtab.go).

Go's runtime reads its functions' metadata tables (pcvalue, funcdata) to
decide what a stack holds. gort reads CPython's code objects for the same
kind of question, always without running any of the program's code:

- ``exception_table``: the handler ranges of a code object (CPython 3.11+'s
  zero-cost exceptions), for abandon.py (a goroutine stopped outside every
  handler unwinds without running a bytecode) and for ``with`` blocks.
- ``with_blocks``/``with_managers``: the ``with`` bodies of a code object and,
  for a live frame, the managers of the blocks it is inside, read from their bound
  ``__exit__`` on the value stack (preempt.py: a plain RLock or Lock made before the
  run held by ``with``, whatever expression made it: ``with get_lock():``).
- ``stack_callee``/``callee``: what a frame's current call instruction calls, read
  from the value stack (``get_lock().acquire()``, ``partial(lk.acquire)()``);
  ``entering_manager``: the manager whose ``__enter__`` a BEFORE_WITH is calling;
  ``call_machinery_only``: a frame entered from C whose only C between is
  CPython's call machinery.
- ``callee_expr``/``manager_expr``/``resolve``: the same questions answered from
  the load chain (``self.submit(fn, *args)``) through the frame's locals, globals
  and ``inspect.getattr_static`` (no descriptor or ``__getattr__`` runs), where
  the value stack's layout was not verified at import (an interpreter other than
  3.11-3.13 on 64 bits).

Invariants: results are cached per code object (bounded); nothing here
switches goroutines or takes a lock, so the SIGURG handler may call it.
Locals are read only from frames of the program, never from the runtime's,
whose state may be mid-update, and only from frames that are executing or
blocked in a call (their interpreter frames are live).

Locals are read from the interpreter frame's ``localsplus`` array
(``frame_local``), not through ``frame.f_locals``: on 3.11 and 3.12 that
attribute leaves a snapshot dict of every local on the frame until the
frame's next read or its end, so a goroutine preempted inside a ``with``
kept its locals alive past their ``del`` (issue 8, F7: a ``__del__`` ran late).
The array's offset (72 bytes into ``_PyInterpreterFrame`` on 3.11-3.13) and
the slot order (``co_varnames``, then cell variables that are not
arguments, then free variables) are checked at import on a probe function;
where the check fails, ``f_locals`` is read as before.

The value stack is read at the depth the compiler fixed for the current
instruction (``stack_depths``, from ``dis.stack_effect`` over the control flow and
the exception table), not at the frame's saved stack pointer: CPython 3.11 keeps a
running frame's stack pointer in a C local of the eval loop, so ``stacktop`` is
stale. The layout (where a call's callable sits per version, a ``with``'s bound
``__exit__`` below its body) is checked at import on probe calls (``_probe_stack``),
specialised and not; where the check fails the load chains are read instead.
Rejected: load chains alone (the last stop's design): a lock reached through a
call's result or a ``functools.partial`` could not be named, and its waiter hung.
"""

from __future__ import annotations

import ctypes
import dis
import functools
import inspect
import sys
from collections import defaultdict
from types import (
    AsyncGeneratorType,
    BuiltinMethodType,
    CellType,
    ClassMethodDescriptorType,
    CodeType,
    CoroutineType,
    FrameType,
    FunctionType,
    GeneratorType,
    MethodDescriptorType,
    MethodType,
    MethodWrapperType,
    WrapperDescriptorType,
)
from typing import Any, Final

Expr = tuple[tuple[str, Any], ...]
"""A load chain: (opname, name) base load, then attribute loads and subscripts
(``("SUBSCR", (key_opname, key))``: ``d["k"]``, ``seq[0]``, ``d[name]``)."""

# PRECALL too: 3.11 runs a specialised call of a builtin inside PRECALL (f_lasti stays there).
_CACHE: Final = dis.opmap["CACHE"]


def instr_start(code: CodeType, lasti: int) -> int:
    """The offset of the instruction ``lasti`` falls in: a caller suspended in a call
    that CPython 3.11 inlined has ``f_lasti`` on the call's last inline CACHE entry."""
    co = code.co_code
    if not 0 <= lasti < len(co):
        return -1
    while lasti > 0 and co[lasti] == _CACHE:
        lasti -= 2
    return lasti


def op_at(code: CodeType, lasti: int) -> int:
    """The opcode of the instruction at ``lasti`` (see instr_start); -1 if none."""
    start = instr_start(code, lasti)
    return code.co_code[start] if start >= 0 else -1


_CALLS: Final = frozenset(op for name, op in dis.opmap.items()
                          if name.startswith(("CALL", "PRECALL")))


_instr_cache: dict[CodeType, dict[int, dis.Instruction]] = {}


def instructions(code: CodeType) -> dict[int, dis.Instruction]:
    got = _instr_cache.get(code)
    if got is None:
        got = {i.offset: i for i in dis.get_instructions(code)}
        if len(_instr_cache) > 4096:
            _instr_cache.clear()
        _instr_cache[code] = got
    return got


def entry_codes(fn: Any) -> tuple[CodeType, ...]:
    """The codes of the Python frames that calling fn can run with only CPython's call
    machinery between: a function's; through a partial or a bound method, its
    function's; a class's metaclass ``__call__`` if Python defines one, else its
    ``__new__`` and ``__init__`` (``type_call`` calls both); an instance's class's
    ``__call__``. Inherited ones included (found along the MRO; a spinner in an
    inherited ``__call__`` or a ``__new__`` was never preempted: adversarial round 8).
    Looked up in the classes' own dicts: no descriptor or ``__getattr__`` runs."""
    for _ in range(8):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, MethodType):
            fn = fn.__func__
        elif isinstance(fn, FunctionType):
            return (fn.__code__,)
        elif isinstance(fn, type):
            meta = _mro_code(type(fn), "__call__")
            if meta is not None:
                return (meta,)
            return tuple(c for c in (_mro_code(fn, "__new__"), _mro_code(fn, "__init__"))
                         if c is not None)
        else:
            code = _mro_code(type(fn), "__call__")  # an instance with a Python __call__
            return () if code is None else (code,)
    return ()


def _mro_code(cls: type, name: str) -> CodeType | None:
    """The code of the Python function ``name`` that cls's MRO finds first; None if what
    it finds is not one (a C slot: object's __new__, type's __call__)."""
    for k in cls.__mro__:
        v = k.__dict__.get(name)
        if v is not None:
            if isinstance(v, (staticmethod, classmethod)):
                v = v.__func__
            return v.__code__ if isinstance(v, FunctionType) else None
    return None


_BASE_LOADERS: Final = frozenset(("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_DEREF", "LOAD_CLOSURE",
                                   "LOAD_GLOBAL", "LOAD_NAME"))
_ATTR_LOADERS: Final = frozenset(("LOAD_ATTR", "LOAD_METHOD"))
_KEY_LOADERS: Final = frozenset(("LOAD_CONST", "LOAD_FAST", "LOAD_FAST_CHECK"))
_SUBSCR: Final = "SUBSCR"


def _subscript_key(instrs: dict[int, dis.Instruction],
                   off: int) -> tuple[int, tuple[str, Any]] | None:
    """For the BINARY_SUBSCR at off: (offset, load) of the instruction loading its key,
    if that is a constant or a local; None otherwise."""
    for prev in range(off - 2, -1, -2):
        ins = instrs.get(prev)
        if ins is None:
            continue  # a CACHE entry
        if ins.opname in _KEY_LOADERS:
            return prev, (ins.opname, ins.argval)
        return None
    return None
# 3.13's superinstructions whose second half loads a local (positioned at their first half).
_FUSED_LOADS: Final = frozenset(("LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST"))
# What a call's own argument packing may emit at the call's source position.
_ARG_PACKING: Final = frozenset((
    "BUILD_LIST", "BUILD_TUPLE", "BUILD_MAP", "LIST_EXTEND", "LIST_APPEND", "LIST_TO_TUPLE",
    "DICT_MERGE", "DICT_UPDATE", "CALL_INTRINSIC_1", "KW_NAMES", "LOAD_CONST", "PRECALL",
    "PUSH_NULL", "COPY", "SWAP", "NOP", "EXTENDED_ARG"))
_callee_cache: dict[tuple[CodeType, int], Expr] = {}


def callee_expr(code: CodeType, lasti: int) -> Expr:
    """The loads, (opname, name), of the callee of the call at ``lasti``: ``a.b.c`` of
    ``a.b.c(*x)``; () if the callee is not a plain name or attribute chain.

    Read from the source positions: the callee expression starts where the call
    expression does, its arguments further right or below.
    """
    lasti = instr_start(code, lasti)
    key = (code, lasti)
    got = _callee_cache.get(key)
    if got is not None:
        return got
    instrs = instructions(code)
    call = instrs.get(lasti)
    run: list[tuple[str, Any]] = []
    if call is not None and call.opcode in _CALLS and call.positions is not None:
        start = (call.positions.lineno, call.positions.col_offset)
        skip = -1
        for off in range(lasti - 2, -1, -2):
            ins = instrs.get(off)
            if ins is None or ins.positions is None or off == skip:
                continue
            at_start = (ins.positions.lineno, ins.positions.col_offset) == start
            if at_start and (ins.opname in _BASE_LOADERS or ins.opname in _ATTR_LOADERS):
                run.insert(0, (ins.opname, ins.argval))
            elif at_start and ins.opname == "BINARY_SUBSCR" and \
                    (sub := _subscript_key(instrs, off)) is not None:
                skip = sub[0]  # the key's own load, passed over
                run.insert(0, (_SUBSCR, sub[1]))
            elif not run and at_start and ins.opname not in _ARG_PACKING:
                break  # the callee is computed (a call's result, a subscript): unknown
            elif run:
                if run[0][0] in _ATTR_LOADERS and ins.opname in _FUSED_LOADS:
                    run.insert(0, ("LOAD_FAST", ins.argval[1]))
                break
        if not run or run[0][0] not in _BASE_LOADERS or any(
                op not in _ATTR_LOADERS and op != _SUBSCR for op, _ in run[1:]):
            run = []
    if len(_callee_cache) > 1024:
        _callee_cache.clear()
    got = _callee_cache[key] = tuple(run)
    return got


def manager_expr(code: CodeType, lasti: int) -> Expr:
    """The loads, (opname, name), of the context manager of the BEFORE_WITH at ``lasti``;
    () if it is not a plain name or attribute chain."""
    instrs = instructions(code)
    before = [o for o in sorted(instrs) if o < lasti]
    run: list[tuple[str, Any]] = []
    while before:
        off = before.pop()
        ins = instrs[off]
        if ins.opname in _ATTR_LOADERS:
            run.insert(0, (ins.opname, ins.argval))
            continue
        if ins.opname == "BINARY_SUBSCR":
            key = _subscript_key(instrs, off)
            if key is None:
                return ()
            while before and before[-1] >= key[0]:
                before.pop()
            run.insert(0, (_SUBSCR, key[1]))
            continue
        if ins.opname in _BASE_LOADERS:
            run.insert(0, (ins.opname, ins.argval))
        elif run and ins.opname in _FUSED_LOADS:
            run.insert(0, ("LOAD_FAST", ins.argval[1]))
        break
    return tuple(run) if run and run[0][0] in _BASE_LOADERS else ()


def callee(frame: FrameType, kind_ids: frozenset[int] | None = None) -> Any:
    """What frame's current call instruction calls, found without running any code; None if
    that cannot be known. Read from the value stack (``call_target``) where its layout was
    verified, else from the load chain (``callee_expr``). ``kind_ids``: see
    stack_callee."""
    if _STACK:
        return stack_callee(frame, kind_ids)
    return resolve(frame, callee_expr(frame.f_code, frame.f_lasti))


def resolve(frame: FrameType, expr: Expr) -> Any:
    """The value of a load chain in frame, found without running code; None if unknown."""
    if not expr:
        return None
    op, name = expr[0]
    missing = _MISSING
    value: Any = missing
    if op != "LOAD_GLOBAL":
        value = frame_local(frame, name)
    if value is missing and op in ("LOAD_GLOBAL", "LOAD_NAME"):
        value = frame.f_globals.get(name, missing)
        if value is missing:
            value = frame.f_builtins.get(name, missing)
    for op, attr in expr[1:]:
        if value is missing:
            break
        if op == _SUBSCR:
            value = _item(frame, value, attr)
            continue
        value = inspect.getattr_static(value, attr, missing)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
    return None if value is missing else value


def _item(frame: FrameType, container: Any, key_load: tuple[str, Any]) -> Any:
    """container[key] where that runs no Python code: a dict (a defaultdict's factory is
    not called) or a list or tuple, with a str or int key; _MISSING otherwise."""
    kop, key = key_load
    if kop != "LOAD_CONST":
        key = frame_local(frame, key)
    if type(key) not in (str, int):
        return _MISSING
    kind = type(container)
    if kind is dict or kind is defaultdict:
        return dict.get(container, key, _MISSING)
    if (kind is list or kind is tuple) and type(key) is int:
        try:
            return container[key]
        except IndexError:
            return _MISSING
    return _MISSING


_MISSING: Final = object()
_F_FRAME: Final = 24  # PyFrameObject.f_frame (after PyObject_HEAD and f_back)
_LOCALSPLUS: Final = 72  # _PyInterpreterFrame.localsplus, 3.11-3.13
_slots_cache: dict[CodeType, dict[str, int]] = {}


def _slots(code: CodeType) -> dict[str, int]:
    """name -> index in localsplus: locals (arguments first), other cells, free variables."""
    got = _slots_cache.get(code)
    if got is None:
        names = list(code.co_varnames)
        names += [c for c in code.co_cellvars if c not in code.co_varnames]
        names += code.co_freevars
        got = {n: i for i, n in reversed(list(enumerate(names)))}
        if len(_slots_cache) > 4096:
            _slots_cache.clear()
        _slots_cache[code] = got
    return got


# A frame of another thread (sysmon reading an M's goroutine) changes whenever that
# thread holds the GIL, and CPython hands the GIL over only at eval-breaker checks (a
# call's end, a backward jump, a function's start) or when C code releases it. So a slot
# is read and its object taken (INCREF'd) in one stretch of bytecode without a call or a
# backward jump: ctypes pointers are made first, then the check that the frame is still
# at the instruction the slot's meaning was computed for, then the frame's current
# ``f_frame`` is read, a pointer aimed at the slot and subscripted, whose C getter reads
# the slot and takes the reference. Nothing in that stretch allocates an object the
# collector tracks (ints only), so no collection (3.11 collects inside an allocation)
# runs a finalizer there that could let the other thread run. A read split in two (the
# pointer, then a cast after a call) took an object the thread had freed in between:
# sysmon crashed (stop 19's CI, c_sleep_eintr.py on a loaded machine).
# A frame that has ended keeps its f_lasti (the call it raised from, for one that
# ended by an exception) but not its value stack: its f_frame then points into the frame
# object itself, and no slot of its stack is read (a frame sysmon had taken ended
# before the read: garbage dereferenced, lock_stress.py 11 crashed 2 in 75 runs).
# Left open: a call's cleanup drops the callable before the arguments, so while an
# argument's deallocation blocks with the GIL released (a file closed on a slow disk),
# the callable's slot may name freed memory if nothing else held the callable (a
# temporary: ``make()(open(p))``). Nothing in the frame tells that moment from the call.
# The thread's own frames have the same moment, and more of it: a frame unwinding an
# exception stays at the instruction that raised while CPython pops and releases its
# value stack (3.11's slots keep the stale pointers; a failed call leaves its NULL
# result below the released callable), and Python code runs there: the pops' finalizers
# and weakref callbacks, a profile or trace function's "return" and "exception" events.
# A SIGURG handler run inside one read such a slot as the frame's callee, took a
# reference to a freed or half-deallocated object and crashed the process (adversarial
# round 7: exc_mix.py under sys.setprofile, 1 run in 30). So every read is typed: the
# reader names the kinds of object it acts on (a call's callee: CALL_KINDS; a with
# block's bound __exit__; a generator), and an object is taken only if its type pointer
# is one of them, compared before any reference is taken, and its reference count reads
# as a live one: not 0 (being deallocated, or freed: a collected object's count stays 0)
# and below 2**32 (a pymalloc block's first word, once freed, is the free list's next
# pointer, an address; 3.11 to 3.13 keep a count, the immortal one included, below
# 2**32). Anything else is "unread", which the callers take as "not known" (C between
# assumed, no manager seen). Memory reused by a new object of one of the kinds reads as
# that object: a wrong answer, never a crash. (Untyped, the read took the reader's own
# _Aim, allocated into the block the callable had just freed, and segfaulted in pytest.)
_LIVE_REFCNT: Final = 1 << 32
# What a call's callee slot holds when the readers can act on it: a function, a bound
# method, a C function or method, a descriptor, a partial, a class (of metaclass type;
# callee_kinds adds the rest).
CALL_KINDS: Final = frozenset(map(id, (
    FunctionType, MethodType, BuiltinMethodType, MethodDescriptorType,
    WrapperDescriptorType, MethodWrapperType, ClassMethodDescriptorType,
    functools.partial, type)))
_BOUND_KINDS: Final = frozenset(map(id, (MethodType, BuiltinMethodType, MethodWrapperType)))
GENERATOR_KINDS: Final = frozenset(map(id, (GeneratorType, CoroutineType, AsyncGeneratorType)))

def _owned_at() -> int:
    """Where a frame object's f_frame points once its frame has ended, from the object's
    address: its own copy (3.11+: take_ownership), which keeps the locals but not the
    value stack (its slots are whatever that memory held)."""
    def ended() -> FrameType:
        return sys._getframe()
    f = ended()
    return (ctypes.c_void_p.from_address(id(f) + _F_FRAME).value or 0) - id(f)


_OWNED_AT: Final = _owned_at()
_OBJ_PTR: Final = ctypes.POINTER(ctypes.py_object)
_ADDR_PTR: Final = ctypes.POINTER(ctypes.c_void_p)
_UNREAD: Final = object()  # the frame moved on from the instruction


class _Aim:
    """A pointer (``obj``: to a PyObject* slot; with ``typed``, ``addr``: to any pointer)
    and a view of its own value to aim it, made before the stretch that reads (see
    above); one per frame, for as many reads of it as wanted."""

    __slots__ = ("addr", "addr_at", "f_frame", "finished", "obj", "obj_at")

    def __init__(self, frame: FrameType, typed: bool = False) -> None:
        self.f_frame = ctypes.c_void_p.from_address(id(frame) + _F_FRAME)
        self.finished = id(frame) + _OWNED_AT  # f_frame's value once the frame ended
        self.obj = _OBJ_PTR()
        self.obj_at = ctypes.c_void_p.from_buffer(self.obj)
        if typed:
            self.addr = _ADDR_PTR()
            self.addr_at = ctypes.c_void_p.from_buffer(self.addr)

    def slot(self, index: int) -> int:
        """The address of the frame's localsplus[index]; 0 once the frame has ended. For
        a frame of this thread's own stack only (another thread's may move between
        this call's return and the caller's read: _stack_slot reads inline)."""
        fi = self.f_frame.value
        return 0 if not fi or fi == self.finished else fi + _LOCALSPLUS + 8 * index

    def local(self, index: int) -> Any:
        """The object in the frame's localsplus[index] (a local, cell or free variable:
        always a reference the frame owns), taken atomically; _MISSING if NULL."""
        # From here to the read: no call, no backward jump, no tracked allocation.
        fi = self.f_frame.value
        if not fi:
            return _MISSING
        self.obj_at.value = fi + _LOCALSPLUS + 8 * index
        try:
            return self.obj[0]
        except ValueError:  # NULL
            return _MISSING


def _stack_slot(frame: FrameType, f_lasti: int, index: int, kind_ids: frozenset[int],
                above_null: bool = False) -> Any:
    """The object in a live frame's localsplus[index] (a value-stack slot), taken
    atomically if the frame is still at f_lasti (its ``f_lasti`` as the caller read it
    when it computed index); _MISSING for a NULL slot (never None: that is an object,
    a call's result); _UNREAD if the frame moved on.

    With above_null, a NULL slot is passed over for the one above it, read in the same
    stretch: the NULL is what proves the slot above alive (a call still running; or
    one that failed, its NULL result below the released callable: the reference count
    below tells), and a second stretch would let the thread finish the call in between.

    The object is taken only if its type is one of kind_ids (``id`` of types) and its
    reference count reads as a live one (not 0, below _LIVE_REFCNT), else _UNREAD: the
    slot may name an object already released (the frame unwinding, 3.12+'s manager under
    BEFORE_WITH, another thread's call ending: see above).
    """
    aim = _Aim(frame, True)
    # From here to the read: no call, no backward jump, no tracked allocation.
    if frame.f_lasti != f_lasti:
        return _UNREAD
    fi = aim.f_frame.value
    if not fi or fi == aim.finished:
        return _UNREAD
    slot = fi + _LOCALSPLUS + 8 * index
    aim.addr_at.value = slot
    p = aim.addr[0]
    if above_null and not p:
        slot += 8
        aim.addr_at.value = slot
        p = aim.addr[0]
    if not p:
        return _MISSING
    aim.addr_at.value = p  # ob_refcnt: a live count, or dropped (see above)
    refcnt = aim.addr[0]
    if not refcnt or refcnt >= _LIVE_REFCNT:
        return _UNREAD
    aim.addr_at.value = p + 8  # ob_type, after ob_refcnt
    if aim.addr[0] not in kind_ids:
        return _UNREAD
    aim.obj_at.value = slot
    try:
        return aim.obj[0]
    except ValueError:  # NULL
        return _MISSING


def _read_slot(frame: FrameType, name: str, aim: _Aim | None = None) -> Any:
    """The value of local (or cell/free variable) ``name`` of a live frame, read from its
    localsplus (through aim, the frame's, if given); _MISSING if unbound or unknown."""
    i = _slots(frame.f_code).get(name)
    if i is None:
        return _MISSING
    value = (aim or _Aim(frame)).local(i)
    if type(value) is CellType and (name in frame.f_code.co_cellvars
                                    or name in frame.f_code.co_freevars):
        try:
            return value.cell_contents
        except ValueError:  # an empty cell: unbound
            return _MISSING
    return value


def _probe_slots() -> bool:
    """The localsplus layout assumed by _read_slot holds on this interpreter."""
    if sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)) or ctypes.sizeof(
            ctypes.c_void_p) != 8:
        return False
    free = object()
    got: list[bool] = []

    def probe(arg: object, captured: object) -> None:
        local = object()
        cell = object()

        def inner() -> tuple[object, object, object]:
            return captured, cell, free

        f = sys._getframe()
        got.append(_read_slot(f, "arg") is arg and _read_slot(f, "local") is local
                   and _read_slot(f, "captured") is captured and _read_slot(f, "cell") is cell
                   and _read_slot(f, "nothing") is _MISSING and inner()[0] is captured)

    def outer() -> None:
        probe(outer, got)
        f = sys._getframe()
        got.append(_read_slot(f, "free") is free)

    outer()
    return got == [True, True]


_DIRECT: Final = _probe_slots()


def frame_local(frame: FrameType, name: str) -> Any:
    """Local, cell or free variable ``name`` of a live frame, without running code and
    without leaving a snapshot of the locals on the frame (3.11, 3.12); _MISSING if unbound."""
    if _DIRECT:
        return _read_slot(frame, name)
    return frame.f_locals.get(name, _MISSING)


def frame_values(frame: FrameType) -> list[Any]:
    """The bound locals (and cell and free variables) of a live frame, as frame_local reads."""
    if not _DIRECT:
        return list(frame.f_locals.values())
    aim = _Aim(frame)
    got = (_read_slot(frame, name, aim) for name in _slots(frame.f_code))
    return [v for v in got if v is not _MISSING]


# -- the value stack ----------------------------------------------------------------
#
# A frame's value stack lives in localsplus after the locals, and its depth before each
# instruction is fixed by the compiler (every path reaches an instruction with the same
# depth), so it is computed from the bytecode (``stack_depths``) rather than read from
# the frame: CPython keeps the stack pointer of a running frame in a C local. Slots
# below the depth of the current instruction hold live references while the frame
# executes it, with one exception this code is built around: after a call returns,
# CPython puts the result in the call's lowest slot and releases the rest, and the eval
# breaker (where signal handlers run) may come before the next instruction starts, with
# ``f_lasti`` still on the call. The lowest slot is alive in both states (the callable,
# NULL or a method during the call; the result after it); the slot above it is
# dereferenced only when the lowest one proves the call is still running: NULL (3.11
# and 3.12 push NULL below a plain callable, and the result replaces it).

def _kept_depth(code: CodeType, lasti: int) -> int:
    """How deep the value stack is sure to be while the instruction at lasti runs or has
    just run: its depth before, less what it pops. 0 if unknown."""
    lasti = instr_start(code, lasti)
    ins = instructions(code).get(lasti)
    depths = stack_depths(code)
    depth = None if depths is None else depths.get(lasti)
    if ins is None or depth is None:
        return 0
    arg = ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None
    effect = dis.stack_effect(ins.opcode, arg, jump=False) if ins.opcode in _JUMPS else \
        dis.stack_effect(ins.opcode, arg)
    if ins.opcode in _JUMPS:
        effect = min(effect, dis.stack_effect(ins.opcode, arg, jump=True))
    return depth + min(0, effect)


_PRECALL_POPS: Final = "PRECALL" in dis.opmap  # 3.11


def stack_callee(frame: FrameType, kind_ids: frozenset[int] | None = None) -> Any:
    """What the call at frame's current instruction calls, read from its value stack: the
    callable, or for a method call the function or C method descriptor (unbound); None
    where the frame is not at a call.

    Only for a live frame that is executing or blocked in a call. At the eval breaker
    right after the call returned this is the call's result (see above); callers treat
    that case as the safe point it is.

    ``kind_ids`` (``id`` of types; default CALL_KINDS): the slot's object is taken only
    if its type is one of them, read first without taking a reference (``_stack_slot``):
    sysmon crashed reading another thread's (a lock_stress run under load, 2 in 60, the
    M in a file read under importlib), a SIGURG handler its own thread's (a frame
    unwinding under a profile function). The
    NULL below a plain callable and the callable itself are read in one stretch: read
    in two, the M could finish the call between them (the GIL passes at a function's
    start), leaving the result below and the freed callable above.
    """
    at = _call_base(frame)
    if at is None:
        return None
    f_lasti, base, _name = at
    # 3.13's callable, 3.11/3.12's method; or the result (None too), after the call; or,
    # above 3.11/3.12's NULL below a plain callable, that callable: the call is still
    # running (its result would have replaced the NULL), so the callable is alive.
    got = _stack_slot(frame, f_lasti, base, CALL_KINDS if kind_ids is None else kind_ids,
                      above_null=True)
    return None if got is _UNREAD or got is _MISSING else got


def stack_call_self(frame: FrameType, kind_ids: frozenset[int]) -> Any:
    """The object a method call at frame's current instruction was loaded from (``g`` of
    ``g.switch(x)``), read from the value stack in the slot above the method that
    stack_callee reads, if its type is one of kind_ids (``id`` of types); None where
    that is not a method call or cannot be read."""
    return _call_operand(frame, 1, ("CALL", "PRECALL"), kind_ids)


def has_stack_layout() -> bool:
    """The value-stack layout the stack readers assume was verified at import (_STACK)."""
    return _STACK


def stack_call_arg(frame: FrameType, kind_ids: frozenset[int]) -> Any:
    """The first explicit argument of the call at frame's current instruction (``it`` of
    ``next(it)``, ``g`` of ``"".join(g)``), read from the value stack two slots above
    the callable's base (3.11/3.12: NULL or the method, then the callable or self;
    3.13: the callable, then NULL or self), if its type is one of kind_ids; None where
    the call has no argument, the slot holds none of them or the stack layout is not
    known (``has_stack_layout``). 3.11's PRECALL included: specialised for a builtin
    (``next``, ``list``) it makes the call itself, the arguments still on the stack (a
    warm ``next(self.gen)`` in contextlib's ``__enter__`` was not seen as resuming the
    generator, and a goroutine waiting there for a lock made before gort was never
    switched out: a hang, adversarial round 12)."""
    return _call_operand(frame, 2, ("CALL", "PRECALL", "CALL_KW"), kind_ids,
                         needs_arg=True)


def _call_operand(frame: FrameType, above: int, opnames: tuple[str, ...],
                  kind_ids: frozenset[int], needs_arg: bool = False) -> Any:
    """The object ``above`` slots over the base of the call at frame's current
    instruction (one of opnames; with needs_arg, one passing an argument), if its type
    is one of kind_ids; None otherwise, or where the stack layout is not known."""
    if not _STACK:
        return None
    at = _call_base(frame)
    if at is None or at[2] not in opnames:
        return None
    f_lasti, base, _name = at
    if needs_arg:
        ins = instructions(frame.f_code).get(instr_start(frame.f_code, f_lasti))
        if ins is None or not ins.arg:
            return None
    got = _stack_slot(frame, f_lasti, base + above, kind_ids)
    return None if got is _UNREAD or got is _MISSING else got


def _call_base(frame: FrameType) -> tuple[int, int, str] | None:
    """(f_lasti, localsplus index of the callable's slot, the call's opname) for the call
    at frame's current instruction, from the compiler's stack depths; None where frame
    is not at a call of something on the stack or the depth is unknown."""
    code = frame.f_code
    f_lasti = frame.f_lasti
    lasti = instr_start(code, f_lasti)
    ins = instructions(code).get(lasti)
    if ins is None or ins.opcode not in _CALLS or ins.arg is None:
        return None
    depths = stack_depths(code)
    depth = None if depths is None else depths.get(lasti)
    if depth is None:
        return None
    name = ins.opname
    if name == "CALL" and _PRECALL_POPS:
        low = depth - 2  # 3.11: PRECALL already took the arguments off the static depth
    elif name in ("CALL", "PRECALL"):
        low = depth - ins.arg - 2
    elif name == "CALL_KW":
        low = depth - ins.arg - 3  # the keyword names' tuple on top
    elif name == "CALL_FUNCTION_EX":
        low = depth - 3 - (ins.arg & 1)  # the callable, NULL, the arguments, the keywords
    else:
        return None  # CALL_INTRINSIC_*: not a call of anything on the stack
    if low < 0:
        return None
    return f_lasti, nlocalsplus(code) + low, name


def stack_iterator(frame: FrameType, kind_ids: frozenset[int] = GENERATOR_KINDS) -> Any:
    """What frame's current FOR_ITER advances (its iterator) or SEND sends to (its
    receiver), read from the value stack if it is a generator, coroutine or async
    generator; _UNREAD if it is not one (a C iterator) or the frame moved on; _MISSING
    where frame is at neither instruction or its stack layout is not known."""
    if not _STACK:
        return _MISSING
    code = frame.f_code
    f_lasti = frame.f_lasti
    lasti = instr_start(code, f_lasti)
    ins = instructions(code).get(lasti)
    if ins is None or ins.opname not in ("FOR_ITER", "SEND"):
        return _MISSING
    depths = stack_depths(code)
    depth = None if depths is None else depths.get(lasti)
    low = None if depth is None else depth - (1 if ins.opname == "FOR_ITER" else 2)
    if low is None or low < 0:
        return _MISSING
    return _stack_slot(frame, f_lasti, nlocalsplus(code) + low, kind_ids)


def advanced_by(frame: FrameType, back: FrameType) -> bool:
    """Generator or coroutine frame ``frame`` runs because back's FOR_ITER or SEND
    advances its own generator object (not a C iterator wrapping it, such as islice or
    tee, and not a finalizer run from C while back waits there). True where the stack
    layout is not known: the frames alone cannot tell (stack.resumed_by_eval_loop)."""
    it = stack_iterator(back)
    if it is _MISSING:
        return True
    return any(getattr(it, a, None) is frame for a in ("gi_frame", "cr_frame", "ag_frame"))


def _probe_stack() -> bool:
    """The value-stack layout stack_callee and with_managers assume holds here."""
    if not _DIRECT:
        return False
    got: list[bool] = []

    class Manager:
        def __enter__(self) -> Manager:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    def key(item: int) -> int:
        caller = sys._getframe(1)
        got.append(stack_callee(caller) is sorted)  # a plain callable
        return item

    def reduced(a: int, b: int) -> int:
        caller = sys._getframe(1)
        got.append(stack_callee(caller) is functools.reduce)
        return a + b

    def method_key(item: int) -> int:
        caller = sys._getframe(1)
        got.append(stack_callee(caller) is list.__dict__["sort"])  # a method call
        got.append([type(m) for m in _stack_managers(caller)] == [Manager])
        return item

    def run() -> None:
        sorted([2, 1], key=key)
        functools.reduce(reduced, [1, 2], 0)
        with Manager():
            [2, 1].sort(key=method_key)

    for _ in range(10):  # and again once 3.11-3.13 have specialised the calls
        run()
    return len(got) == 80 and all(got)


_BEFORE_WITH_OPS: Final = frozenset(op for name, op in dis.opmap.items()
                                    if name in ("BEFORE_WITH", "SETUP_WITH"))
_with_cache: dict[CodeType, tuple[tuple[tuple[tuple[int, int], ...], int, Expr], ...]] = {}


def with_blocks(code: CodeType) -> tuple[tuple[tuple[tuple[int, int], ...], int, Expr], ...]:
    """The ``with`` blocks of code: the [start, end) byte ranges of the body, the depth of
    the value stack its manager's bound ``__exit__`` sits just below (``with_managers``),
    and the loads of the manager if it is a plain name or attribute chain, else ().

    A body is made of the exception-table ranges whose handler starts with
    PUSH_EXC_INFO, WITH_EXCEPT_START (CPython 3.11+), and of the ranges whose handler
    is itself in the body (a nested block's body, a ``try`` inside): a nested block is
    covered by its own handler, whose code is covered by the outer one. The code that
    calls ``__exit__`` when the body ends normally is covered by none of them. Its
    manager is the load chain right before the BEFORE_WITH ahead of its first range.
    """
    got = _with_cache.get(code)
    if got is not None:
        return got
    if not code.co_exceptiontable or not _BEFORE_WITH_OPS.intersection(code.co_code[::2]):
        _with_cache[code] = ()  # no `with` at all: no disassembly (the common case)
        return ()
    instrs = instructions(code)
    order = sorted(instrs)
    entries = exception_entries(code)

    def handler_of(off: int) -> int | None:  # the handler covering off (ranges are disjoint)
        for start, end, target, _, _ in entries:
            if start <= off < end:
                return target
        return None

    blocks = []
    for target, depth in {(t, d) for _, _, t, d, _ in entries}:
        if [instrs[o].opname for o in order if o >= target][:2] != \
                ["PUSH_EXC_INFO", "WITH_EXCEPT_START"]:
            continue
        ranges = []
        for start, end, covering, _, _ in entries:
            handler: int | None = covering
            seen = set()
            while handler is not None and handler != target and handler not in seen:
                seen.add(handler)
                handler = handler_of(handler)
            if handler == target:
                ranges.append((start, end))
        first = min(start for start, _ in ranges)
        before = [o for o in order if o < first]
        while before and instrs[before[-1]].opcode not in _BEFORE_WITH_OPS:
            before.pop()
        if before:
            blocks.append((tuple(sorted(ranges)), depth, manager_expr(code, before[-1])))
    blocks.sort()
    if len(_with_cache) > 4096:
        _with_cache.clear()
    got = _with_cache[code] = tuple(blocks)
    return got


_BOUND: Final = (MethodType, BuiltinMethodType, MethodWrapperType)
_EXIT_REPLACES_MANAGER: Final = sys.version_info < (3, 12)  # BEFORE_WITH's stack (below)


def with_managers(frame: FrameType) -> list[Any]:
    """The context managers of the ``with`` blocks frame is inside, innermost last, each
    read from its bound ``__exit__`` on the value stack (or, where the stack layout is not
    known, from the load chain naming it; unnamed managers are then left out)."""
    if _STACK:
        return _stack_managers(frame)
    lasti = frame.f_lasti
    return [resolve(frame, expr) for ranges, _, expr in with_blocks(frame.f_code)
            if expr and any(start <= lasti < end for start, end in ranges)]


def _stack_managers(frame: FrameType) -> list[Any]:
    return [exit_.__self__ for _, exit_ in _with_exits(frame)]


def with_exits(frame: FrameType) -> list[tuple[int, Any]]:
    """(localsplus index, bound ``__exit__``) of the ``with`` blocks frame is inside,
    innermost last, read from the value stack; [] where its layout is not known or the
    exits cannot be replaced (``swap_stack_slot``)."""
    return _with_exits(frame) if _SWAP else []


def _with_exits(frame: FrameType) -> list[tuple[int, Any]]:
    code = frame.f_code
    lasti = frame.f_lasti
    got = []
    for ranges, depth, _ in with_blocks(code):
        # The bound __exit__ is read only while the current instruction keeps it on the
        # stack, whatever the instruction has already popped.
        if any(start <= lasti < end for start, end in ranges) and \
                depth <= _kept_depth(code, lasti):
            index = nlocalsplus(code) + depth - 1
            exit_ = _stack_slot(frame, lasti, index, _BOUND_KINDS)
            if type(exit_) in _BOUND:
                got.append((index, exit_))
    return got


def swap_stack_slot(frame: FrameType, f_lasti: int, index: int, old: Any, new: Any) -> bool:
    """Put new in place of old in a live frame's localsplus[index] (a value-stack slot
    ``with_exits`` read), if the frame is still at f_lasti and the slot still holds old;
    the slot's reference moves to new. Only for a frame of this thread's own stack,
    stopped below the caller (nothing else can run its instructions meanwhile)."""
    aim = _Aim(frame, True)
    slot = aim.slot(index) if frame.f_lasti == f_lasti else 0
    if not slot:
        return False
    aim.addr_at.value = slot
    if aim.addr[0] != id(old):
        return False
    py_incref(new)
    aim.addr[0] = id(new)
    py_decref(old)  # the slot's reference (the caller's own keeps old alive)
    return True


_REFFN: Final = ctypes.PYFUNCTYPE(None, ctypes.py_object)
py_incref: Final = _REFFN(("Py_IncRef", ctypes.pythonapi))
py_decref: Final = _REFFN(("Py_DecRef", ctypes.pythonapi))


def entering_manager(frame: FrameType, kinds: tuple[type, ...]) -> Any:
    """The context manager whose ``__enter__`` frame's current BEFORE_WITH is calling, if
    it is an instance of one of kinds (exactly: no subclass); None otherwise.

    3.11 has replaced the manager on the stack by its bound ``__exit__`` before the call;
    3.12+ leaves the manager's pointer there with its reference already dropped (only the
    bound ``__exit__``, a C local, may keep it alive), so its type is compared before the
    pointer is used: a manager of those kinds is kept alive by its bound method.
    """
    code = frame.f_code
    f_lasti = frame.f_lasti
    lasti = instr_start(code, f_lasti)
    if lasti < 0 or code.co_code[lasti] not in _BEFORE_WITH_OPS:
        return None
    if not _STACK:
        cm = resolve(frame, manager_expr(code, lasti))
        return cm if type(cm) in kinds else None
    depths = stack_depths(code)
    depth = None if depths is None else depths.get(lasti)
    if not depth:
        return None
    index = nlocalsplus(code) + depth - 1
    if _EXIT_REPLACES_MANAGER:
        exit_ = _stack_slot(frame, f_lasti, index, _BOUND_KINDS)
        cm = exit_.__self__ if type(exit_) in _BOUND else None
        return cm if type(cm) in kinds else None
    got = _stack_slot(frame, f_lasti, index, frozenset(id(k) for k in kinds))
    return None if got is _UNREAD or got is _MISSING else got


_WITH_CALLS: Final = frozenset(op for name, op in dis.opmap.items()
                               if name in ("BEFORE_WITH", "WITH_EXCEPT_START"))


_exit_cache: dict[CodeType, frozenset[int]] = {}


def with_exit_calls(code: CodeType) -> frozenset[int]:
    """Offsets of the calls that run a with statement's ``__exit__`` when its body ends
    normally: ``LOAD_CONST None`` three times, then ``CALL 2`` (3.11: ``PRECALL 2``,
    ``CALL 2``; both offsets). The manager's bound ``__exit__`` was pushed by
    ``BEFORE_WITH``, so no load chain names it (``callee_expr`` cannot)."""
    got = _exit_cache.get(code)
    if got is None:
        ins = [instructions(code)[o] for o in sorted(instructions(code))]
        calls: set[int] = set()
        for k, i in enumerate(ins):
            if i.opname not in ("CALL", "PRECALL") or i.arg != 2:
                continue
            j = k - 1
            if i.opname == "CALL" and j >= 0 and ins[j].opname == "PRECALL":
                j -= 1  # 3.11's PRECALL 2 before CALL 2
            if j >= 2 and all(ins[j - n].opname == "LOAD_CONST" and ins[j - n].argval is None
                              for n in range(3)):
                calls.add(i.offset)
        if len(_exit_cache) > 4096:
            _exit_cache.clear()
        got = _exit_cache[code] = frozenset(calls)
    return got


def with_statement_call(f: FrameType, back: FrameType) -> bool:
    """back's current instruction is a with statement calling f, its manager's Python
    ``__enter__`` (BEFORE_WITH) or ``__exit__`` (WITH_EXCEPT_START, or the call after a
    body that ended normally), with only CPython's call machinery between them."""
    name = f.f_code.co_name
    if name not in ("__enter__", "__exit__"):
        return False
    code = back.f_code
    if op_at(code, back.f_lasti) in _WITH_CALLS:
        return True
    return name == "__exit__" and instr_start(code, back.f_lasti) in with_exit_calls(code)


def _first_arg(f: FrameType) -> Any:
    """f's first argument (``self``), as a local: _MISSING if it has none or it is unbound."""
    code = f.f_code
    return frame_local(f, code.co_varnames[0]) if code.co_argcount else _MISSING


def attribute_hook_call(f: FrameType, back: FrameType) -> bool:
    """back's current instruction loads an attribute of f's first argument through f: the
    getter of a property of its class, or its class's ``__getattr__``, with only
    CPython's attribute machinery between (property_descr_get, slot_tp_getattr_hook:
    they hold nothing). 3.13 inlines a warm property's getter: no C between there."""
    code = f.f_code
    bcode = back.f_code
    ins = instructions(bcode).get(instr_start(bcode, back.f_lasti))
    if ins is None or ins.opname not in ("LOAD_ATTR", "LOAD_METHOD"):
        return False
    obj = _first_arg(f)
    if obj is _MISSING:
        return False
    if code.co_name == "__getattr__":
        hook = inspect.getattr_static(type(obj), "__getattr__", None)
    else:
        prop = inspect.getattr_static(type(obj), str(ins.argval), None)
        hook = prop.fget if isinstance(prop, property) else None
    return getattr(hook, "__code__", None) is code


_BINARY_DUNDERS: Final = frozenset(
    f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod",
                              "pow", "lshift", "rshift", "and", "xor", "or")
    for p in ("", "r", "i"))
_COMPARE_DUNDERS: Final = frozenset(
    ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"))
_TRUTH: Final = (frozenset(("__bool__", "__len__")), (1,))
_SHOWN: Final = frozenset(("__format__", "__str__", "__repr__"))
# An instruction that calls a special method of one of its operands through CPython's
# slot machinery only (slot_mp_subscript, slot_nb_add, slot_tp_richcompare,
# slot_tp_iter, object.__format__, ...: they hold nothing): opname -> the method names,
# and where that operand may sit (1: the top of the stack before the instruction).
_SLOT_CALLS: Final[dict[str, tuple[frozenset[str], tuple[int, ...]]]] = {
    "BINARY_SUBSCR": (frozenset(("__getitem__",)), (2,)),
    "STORE_SUBSCR": (frozenset(("__setitem__",)), (2,)),
    "DELETE_SUBSCR": (frozenset(("__delitem__",)), (2,)),
    "BINARY_OP": (_BINARY_DUNDERS, (1, 2)),
    "COMPARE_OP": (_COMPARE_DUNDERS, (1, 2)),
    "CONTAINS_OP": (frozenset(("__contains__",)), (1,)),
    "UNARY_NEGATIVE": (frozenset(("__neg__",)), (1,)),
    "UNARY_POSITIVE": (frozenset(("__pos__",)), (1,)),
    "UNARY_INVERT": (frozenset(("__invert__",)), (1,)),
    "UNARY_NOT": _TRUTH,
    "TO_BOOL": _TRUTH,
    "POP_JUMP_IF_TRUE": _TRUTH,
    "POP_JUMP_IF_FALSE": _TRUTH,
    "POP_JUMP_FORWARD_IF_TRUE": _TRUTH,
    "POP_JUMP_FORWARD_IF_FALSE": _TRUTH,
    "POP_JUMP_BACKWARD_IF_TRUE": _TRUTH,
    "POP_JUMP_BACKWARD_IF_FALSE": _TRUTH,
    "JUMP_IF_TRUE_OR_POP": _TRUTH,
    "JUMP_IF_FALSE_OR_POP": _TRUTH,
    "GET_ITER": (frozenset(("__iter__",)), (1,)),
    "FORMAT_VALUE": (_SHOWN, (1, 2)),
    "FORMAT_SIMPLE": (_SHOWN, (1,)),
    "FORMAT_WITH_SPEC": (_SHOWN, (2,)),
    "CONVERT_VALUE": (_SHOWN, (1,)),
}
# A key's __hash__ and __eq__, called by a built-in dict's or set's own lookup for a
# subscript or ``in`` (the key's position, the container's).
_KEYED: Final[dict[str, tuple[int, int]]] = {
    "BINARY_SUBSCR": (1, 2), "STORE_SUBSCR": (1, 2), "DELETE_SUBSCR": (1, 2),
    "CONTAINS_OP": (2, 1)}
_KEY_DUNDERS: Final = frozenset(("__hash__", "__eq__"))
_HASHED: Final = frozenset(map(id, (dict, set, frozenset)))
# A built-in function that calls the special method of its first argument (the
# collections' constructors and sorted ask for the iterator before they hold anything).
_SLOT_BUILTINS: Final[dict[str, tuple[Any, ...]]] = {
    "__len__": (len, bool, list, tuple, sorted), "__bool__": (bool,), "__str__": (str, format),
    "__repr__": (repr,), "__format__": (format,), "__hash__": (hash,),
    "__iter__": (iter, list, tuple, set, frozenset, sorted),
    "__abs__": (abs,)}


def slot_call(f: FrameType, back: FrameType) -> bool:
    """f is a special method that back's current instruction calls on one of its operands
    through CPython's slot machinery only: ``c[k]``'s ``__getitem__``, ``a + b``'s
    ``__add__`` or ``__radd__``, a comparison, ``in``, a truth test, ``iter``, an
    f-string's ``__format__`` or ``__str__``, a key's ``__hash__``/``__eq__`` in a built-in
    dict or set lookup, or ``len(c)``, ``str(c)``... (helper-74, F3). The operand is the
    one f's class defines f for, found at its place on back's value stack: a C type of
    an extension calling a Python method of another object does not match."""
    code = f.f_code
    name = code.co_name
    if not name.startswith("__") or not code.co_argcount:
        return False
    obj = _first_arg(f)
    if obj is _MISSING or getattr(
            inspect.getattr_static(type(obj), name, None), "__code__", None) is not code:
        return False
    bcode = back.f_code
    lasti = instr_start(bcode, back.f_lasti)
    ins = instructions(bcode).get(lasti)
    if ins is None:
        return False
    if ins.opname in ("CALL", "PRECALL"):
        fns = _SLOT_BUILTINS.get(name, ())
        if not fns:
            return False
        target = callee(back)
        return any(fn is target for fn in fns) and \
            stack_call_arg(back, frozenset((id(type(obj)),))) is obj
    if not _STACK:
        return False
    names, places = _SLOT_CALLS.get(ins.opname, (frozenset(), ()))
    if name in names:
        return any(_operand(back, lasti, p) == id(obj) for p in places)
    keyed = _KEYED.get(ins.opname)
    if keyed is None or name not in _KEY_DUNDERS:
        return False
    key_at, container_at = keyed
    key = _operand(back, lasti, key_at)
    other = frame_local(f, code.co_varnames[1]) if code.co_argcount > 1 else _MISSING
    return key != 0 and key in (id(obj), id(other)) and \
        _type_at(_operand(back, lasti, container_at)) in _HASHED


def _operand(frame: FrameType, lasti: int, place: int) -> int:
    """The address in frame's value-stack slot ``place`` from the top as it was before the
    instruction at lasti (which frame is executing: its operands are still in their
    slots), or 0. Compared, never dereferenced, unless _type_at is asked."""
    code = frame.f_code
    depths = stack_depths(code)
    depth = None if depths is None else depths.get(lasti)
    if depth is None or depth < place:
        return 0
    aim = _Aim(frame, True)
    slot = aim.slot(nlocalsplus(code) + depth - place) \
        if instr_start(code, frame.f_lasti) == lasti else 0
    if not slot:
        return 0
    aim.addr_at.value = slot
    return aim.addr[0] or 0


def _type_at(address: int) -> int:
    """The address of the type of the live object at address (0: none)."""
    return (ctypes.c_void_p.from_address(address + 8).value or 0) if address else 0


def iterator_next_call(f: FrameType, back: FrameType) -> bool:
    """f is the Python ``__next__`` of its first argument's class, which back advances
    itself: its FOR_ITER over that object, or ``next(obj)`` (slot_tp_iternext, and
    builtin_next, between: they hold nothing), not a C iterator over it (tee holds a
    "running" flag across the call). Read from the value stack: False where its layout
    is not known."""
    code = f.f_code
    if code.co_name != "__next__":
        return False
    obj = _first_arg(f)
    if obj is _MISSING:
        return False
    kind = type(obj)
    if getattr(inspect.getattr_static(kind, "__next__", None), "__code__", None) is not code:
        return False
    kinds = frozenset((id(kind),))
    if stack_iterator(back, kinds) is obj:
        return True
    return callee(back) is next and stack_call_arg(back, kinds) is obj


def call_target_by_name(frame: FrameType, lasti: int = -1) -> Any:
    """The callee of frame's call instruction at ``lasti`` (default: its current one),
    read from its load chain (``p`` of ``p()``, ``self.wg.go`` of ``self.wg.go(f)``), not
    the value stack: still known once the call has returned (its check for signals,
    before the result is stored); None if that is not a call or the chain cannot be
    read without running code."""
    code = frame.f_code
    if lasti < 0:
        lasti = frame.f_lasti
    if op_at(code, instr_start(code, lasti)) not in _CALLS:
        return None
    return resolve(frame, callee_expr(code, lasti))


def call_machinery_only(f: FrameType, back: FrameType) -> bool:
    """back's current call instruction calls f's function, through C call machinery only."""
    return f.f_code in entry_codes(callee(back, callee_kinds(f)))


def callee_kinds(f: FrameType) -> frozenset[int]:
    """The kinds of callee (``id`` of types) through which a call reaches frame f's code
    with only CPython's call machinery between: CALL_KINDS, and where f runs a
    ``__call__``, its instance's class; an ``__init__`` or ``__new__``, its class's
    metaclass (a class is called). Read from f's first argument (a local: f owns it)."""
    name = f.f_code.co_name
    if name not in ("__call__", "__init__", "__new__"):
        return CALL_KINDS
    first = _first_arg(f)
    if first is _MISSING:
        return CALL_KINDS
    kind = type(type(first)) if name == "__init__" else type(first)  # __new__: type(cls)
    return CALL_KINDS | {id(kind)}


# What a handler may do and still run none of the program's code: put the stack and
# a local back, then re-raise (3.12+ inlined comprehensions restore their variable).
_QUIET_HANDLER_OPS: Final = frozenset(("SWAP", "POP_TOP", "STORE_FAST", "COPY", "NOP",
                                       "POP_EXCEPT", "PUSH_EXC_INFO", "RERAISE"))


def loud_handler_ranges(code: CodeType) -> tuple[tuple[int, int], ...]:
    """handler_ranges, less the ranges whose handler only restores state and re-raises
    out of the frame."""
    instrs = instructions(code)
    order = sorted(instrs)
    table = exception_table(code)
    loud = []
    for start, end, target in table:
        quiet = False
        for off in (o for o in order if o >= target):
            name = instrs[off].opname
            # The handler's own instructions must be covered by no handler: its RERAISE
            # then leaves the frame, not for an enclosing except or finally.
            if name not in _QUIET_HANDLER_OPS or any(s <= off < e for s, e, _ in table):
                break
            if name == "RERAISE":
                quiet = True
                break
        if not quiet:
            loud.append((start, end))
    return tuple(loud)


def handler_depth(code: CodeType, lasti: int) -> int:
    """Stack items a frame of code at instruction ``lasti`` certainly holds: the depth the
    handler covering it unwinds to (what was pushed before its try or with block began:
    a with statement's bound ``__exit__``, a loop's iterator), 0 if no handler covers it.

    The compiler's own number: exact even where the frame's stack pointer is not (a
    frame calling C keeps it in a C local on 3.11-3.13)."""
    lasti = instr_start(code, lasti)
    for start, end, _target, depth, _lasti in exception_entries(code):
        if start <= lasti < end:
            return depth
    return 0


_ENDS: Final = frozenset(("RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE",
                          "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
                          "JUMP", "JUMP_NO_INTERRUPT"))
_JUMPS: Final = frozenset(dis.hasjrel) | frozenset(dis.hasjabs) | frozenset(
    getattr(dis, "hasjump", ()))
_depth_cache: dict[CodeType, dict[int, int] | None] = {}


def stack_depths(code: CodeType) -> dict[int, int] | None:
    """The value stack's depth before each instruction of code (offset -> items), as the
    compiler computed it (its stackdepth pass, replayed with dis.stack_effect along every
    jump and from every handler); None if the replay is inconsistent anywhere (a join
    reached at two depths, a depth below 0 or above co_stacksize): then nothing is known.

    Before an instruction that calls out (a CALL, a FOR_ITER resuming a generator), every
    item counted is still referenced: by the stack, or by the C local of the instruction
    that popped it and has not returned yet."""
    if code in _depth_cache:
        return _depth_cache[code]
    got: dict[int, int] | None = {}
    assert got is not None
    instrs = list(dis.get_instructions(code))
    at = {ins.offset: k for k, ins in enumerate(instrs)}
    work = [(0, 0)] + [(target, depth + lasti + 1)
                       for _s, _e, target, depth, lasti in exception_entries(code)]
    limit = code.co_stacksize
    while work:
        off, depth = work.pop()
        while True:
            seen = got.get(off)
            if seen is not None:
                if seen != depth:
                    got = None
                break
            k = at.get(off)
            if k is None or not 0 <= depth <= limit:
                got = None
                break
            got[off] = depth
            ins = instrs[k]
            arg = ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None
            try:
                if ins.opcode in _JUMPS and isinstance(ins.argval, int):
                    work.append((ins.argval, depth + dis.stack_effect(ins.opcode, arg,
                                                                      jump=True)))
                if ins.opname in _ENDS or k + 1 == len(instrs):
                    break
                # RETURN_GENERATOR is inserted after the compiler's pass; at run time it
                # leaves the value the generator is first sent, which POP_TOP drops.
                depth += 1 if ins.opname == "RETURN_GENERATOR" else \
                    dis.stack_effect(ins.opcode, arg, jump=False)
            except ValueError:  # an opcode stack_effect does not know
                got = None
                break
            off = instrs[k + 1].offset
        if got is None:
            break
    if len(_depth_cache) > 4096:
        _depth_cache.clear()
    _depth_cache[code] = got
    return got


def live_depth(code: CodeType, lasti: int) -> int:
    """Stack items a frame of code suspended at ``lasti`` (in a call, or resuming a
    generator) certainly holds: ``stack_depths`` there if known, else ``handler_depth``."""
    depths = stack_depths(code)
    start = instr_start(code, lasti)
    if depths is not None and start in depths:
        return max(depths[start], handler_depth(code, lasti))
    return handler_depth(code, lasti)


def slot_objects(frame: FrameType, count: int) -> list[Any]:
    """The objects in the first ``count`` slots of a live frame's localsplus array (its
    local, cell and free variables, then its value stack), NULL slots left out; [] where
    the layout check failed. A cell is returned as the cell, not its contents."""
    if not _DIRECT:
        return []
    aim = _Aim(frame)
    got = (aim.local(i) for i in range(count))
    return [v for v in got if v is not _MISSING]


def nlocalsplus(code: CodeType) -> int:
    """Slots of code's localsplus array before its value stack."""
    slots = _slots(code)
    return max(slots.values()) + 1 if slots else 0


def handler_ranges(code: CodeType) -> tuple[tuple[int, int], ...]:
    """The [start, end) byte offsets covered by exception handlers in code."""
    return tuple((start, end) for start, end, _ in exception_table(code))


def exception_table(code: CodeType) -> tuple[tuple[int, int, int], ...]:
    """code's exception table: (start, end, handler) byte offsets, [start, end) covered."""
    return tuple((start, end, target) for start, end, target, _, _ in exception_entries(code))


_entries_cache: dict[CodeType, tuple[tuple[int, int, int, int, int], ...]] = {}


def exception_entries(code: CodeType) -> tuple[tuple[int, int, int, int, int], ...]:
    """code's exception table in full: (start, end, handler, depth, lasti), offsets in
    bytes, [start, end) covered; the handler runs with the value stack cut to depth,
    then the raising instruction's offset pushed if lasti, then the exception.

    The format (CPython 3.11+, Objects/exception_handling_notes.txt): entries of
    four varints (start, length and target in code units, then depth and lasti),
    6 bits a byte, bit 6 meaning "more bytes follow".
    """
    got = _entries_cache.get(code)
    if got is not None:
        return got
    table = code.co_exceptiontable
    entries = []
    i = 0
    n = len(table)

    def varint() -> int:
        nonlocal i
        b = table[i]
        i += 1
        val = b & 63
        while b & 64:
            b = table[i]
            i += 1
            val = (val << 6) | (b & 63)
        return val

    while i < n:
        start = varint() * 2
        length = varint() * 2
        target = varint() * 2
        depth_lasti = varint()
        entries.append((start, start + length, target, depth_lasti >> 1, depth_lasti & 1))
    if len(_entries_cache) > 4096:
        _entries_cache.clear()
    got = _entries_cache[code] = tuple(entries)
    return got


_STACK: Final = _probe_stack()


def _probe_swap() -> bool:
    """A with block's bound ``__exit__`` replaced on the value stack (``swap_stack_slot``)
    is what the block calls on every way out: its end, ``return``, an exception."""
    if not _STACK:
        return False
    calls: list[tuple[Any, ...]] = []

    class Manager:
        def __enter__(self) -> Manager:
            return self

        def __exit__(self, *exc: object) -> None:
            calls.append(("exit", exc[0]))

    def watched(cm: Manager, *exc: Any) -> Any:
        calls.append(("watched", exc[0]))
        return cm.__exit__(*exc)

    def swap() -> None:
        frame = sys._getframe(1)
        for index, exit_ in _with_exits(frame):
            swap_stack_slot(frame, frame.f_lasti, index, exit_,
                            MethodType(watched, exit_.__self__))

    def ends(how: int) -> int:
        with Manager():
            swap()
            if how == 1:
                return 1
            if how == 2:
                raise KeyError
        return 0

    want = []
    for _ in range(10):  # and again once 3.11-3.13 have specialised the calls
        for how in (0, 1, 2):
            try:
                ends(how)
            except KeyError:
                pass
            kind = KeyError if how == 2 else None
            want += [("watched", kind), ("exit", kind)]
    return calls == want


_SWAP: Final = _probe_swap()
