"""Cancellation, deadlines and request-scoped values across goroutines (Go: package context).

A context is a node in a tree rooted at ``background()``. ``with_cancel``,
``with_timeout``, ``with_deadline`` and ``after_func`` add cancellable nodes;
``with_value`` and ``without_cancel`` add transparent ones. Cancelling a node
closes its ``done()`` channel, cancels every cancellable node below it, stops
its timer and detaches it from its parent, in one step that no other
goroutine can observe half-done (gort's own code is never preempted
asynchronously, and nothing here calls a blocking primitive).

Invariants, kept true and tested:
- a cancellable node is in its nearest cancellable ancestor's ``_children``
  exactly while both are live; cancellation (its own or the ancestor's)
  removes it, so a long-lived parent does not keep cancelled children alive
  (10^5 created and cancelled leave ``_children`` empty);
- a node with a deadline holds a runtime timer until it is cancelled; the
  cancel stops the timer and clears its argument, so a stopped timer's stale
  heap entry (timers.py deletes lazily) does not keep the context alive, and
  the heap is compacted once stale entries outnumber live ones;
- ``err()`` is None until ``done()`` is closed, then never changes.

A deadline's timer does not cancel on the scheduler's path: its function
starts a goroutine that cancels (Go's timerCtx uses time.AfterFunc, which
does the same). Cancelling stops other timers, and a timer function must not
touch the heap it is run from. So, as in Go, wait for ``done()`` before
reading ``err()``: a timer that has fired has not necessarily cancelled yet.

Deadlines are ``time.monotonic()`` values (seconds): gort's clock, which no
wall-clock step can move. Errors are exception instances: ``err()`` returns
the same instance every time (compare with ``isinstance``); operations that
raise it (``Weighted.acquire``, ``offload_ctx``) raise a fresh copy chained
to the cause, so tracebacks from different goroutines do not pile up on one
object.

Rejected: a goroutine per context watching its parent (Go does this only for
foreign parents, as here): 10^5 contexts would be 10^5 goroutines. A shared
never-closed channel for ``background().done()``: a goroutine abandoned at
the end of a run would stay queued on it into the next run; each call
returns a fresh channel that nothing closes (Go returns nil, a channel no
operation completes on).
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any, Final, TypeVar

from . import runtime as _rt
from .runtime import Chan

__all__ = [
    "Canceled",
    "Context",
    "DeadlineExceeded",
    "after_func",
    "background",
    "cause",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_deadline_cause",
    "with_timeout",
    "with_timeout_cause",
    "with_value",
    "without_cancel",
]

T = TypeVar("T")


class Canceled(Exception):
    """``ctx.err()`` of a context cancelled by its cancel function (Go: context.Canceled).

    An ``Exception`` (an error value, as Go's), not a ``BaseException`` like
    asyncio's CancelledError: it is returned, raised from waits and collected
    by errgroup like any other error.
    """

    def __init__(self, msg: str = "context canceled") -> None:
        super().__init__(msg)


class DeadlineExceeded(TimeoutError):
    """``ctx.err()`` of a context whose deadline passed (Go: context.DeadlineExceeded).

    A ``TimeoutError``, so ``except TimeoutError`` catches it.
    """

    def __init__(self, msg: str = "context deadline exceeded") -> None:
        super().__init__(msg)


class Context:
    """What every context provides (Go: the context.Context interface).

    Subclass it to write your own; gort's cancellable contexts then follow
    yours through a goroutine that waits on its ``done()``, as Go does.
    """

    __slots__ = ("__weakref__",)

    def deadline(self) -> float | None:
        """When the context will be cancelled, as a ``time.monotonic()`` value; None if never."""
        raise NotImplementedError(f"{type(self).__name__} must define deadline()")

    def done(self) -> Chan[None]:
        """A channel closed when the context is cancelled; use in ``gort.select``."""
        raise NotImplementedError(f"{type(self).__name__} must define done()")

    def err(self) -> BaseException | None:
        """None while not cancelled; then ``Canceled()`` or ``DeadlineExceeded()``."""
        raise NotImplementedError(f"{type(self).__name__} must define err()")

    def value(self, key: Any) -> Any:
        """The value bound to ``key`` by the nearest ``with_value``, or None."""
        raise NotImplementedError(f"{type(self).__name__} must define value()")


class _NeverDone(Context):
    """A context that is never cancelled and has no deadline (its done() never closes)."""

    __slots__ = ()

    def deadline(self) -> float | None:
        return None

    def done(self) -> Chan[None]:
        return Chan()

    def err(self) -> BaseException | None:
        return None


class _Empty(_NeverDone):
    """background() and todo(): never cancelled, no values, no deadline."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def value(self, key: Any) -> Any:
        return None

    def __repr__(self) -> str:
        return self._name


_BACKGROUND: Final = _Empty("context.Background")
_TODO: Final = _Empty("context.TODO")


def background() -> Context:
    """The root context: never cancelled, no values, no deadline (Go: context.Background)."""
    return _BACKGROUND


def todo() -> Context:
    """Like background(), for code where the right context is not yet known (Go: context.TODO)."""
    return _TODO


class _CancelKey:
    """The key whose value is the nearest cancellable ancestor (Go: &cancelCtxKey)."""

    __slots__ = ()


_CANCEL_KEY: Final = _CancelKey()


def _check_parent(parent: Any, who: str) -> Context:
    if not isinstance(parent, Context):
        raise TypeError(f"gort.context.{who}: parent must be a Context, got {parent!r}; "
                        "start from gort.context.background()")
    return parent


class _CancelCtx(Context):
    """A cancellable context (Go: cancelCtx)."""

    __slots__ = ("_cause", "_children", "_done", "_err", "_parent", "_registered")

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._done: Chan[None] = Chan()
        self._err: BaseException | None = None
        self._cause: BaseException | None = None
        self._children: dict[_CancelCtx, None] | None = {}
        # The ancestor whose _children holds this node, while it does.
        self._registered: _CancelCtx | None = None

    def deadline(self) -> float | None:
        return self._parent.deadline()

    def done(self) -> Chan[None]:
        return self._done

    def err(self) -> BaseException | None:
        return self._err

    def value(self, key: Any) -> Any:
        if key is _CANCEL_KEY:
            return self
        return _value(self._parent, key)

    def _propagate(self) -> None:
        """Arrange for the parent's cancellation to cancel this node (Go: propagateCancel)."""
        parent = self._parent
        if not _cancellable(parent):
            return
        p = _value(parent, _CANCEL_KEY)
        if isinstance(p, _CancelCtx) and parent.done() is p._done:
            if p._err is not None:
                self._cancel(False, p._err, p._cause)
                return
            assert p._children is not None
            p._children[self] = None
            self._registered = p
            return
        # A foreign parent (a user's Context subclass): watch it from a goroutine.
        err = parent.err()
        if err is not None:
            self._cancel(False, err, cause(parent))
            return
        s = _rt.running()
        assert s is not None
        _rt.newproc(s, _watch, (parent, self), {}, None)

    def _cancel(self, remove_from_parent: bool, err: BaseException,
                cause_: BaseException | None) -> None:
        """Cancel this node and every cancellable node below it (Go: cancelCtx.cancel)."""
        if self._err is not None:
            return
        if cause_ is None:
            cause_ = err
        todo_ = [self]
        while todo_:
            c = todo_.pop()
            if c._err is not None:
                continue
            c._err = err
            c._cause = cause_
            c._done.close()
            kids = c._children
            c._children = None
            if kids:
                for k in kids:
                    k._registered = None
                todo_.extend(kids)
            c._on_cancel()
        if remove_from_parent:
            self._detach()

    def _detach(self) -> None:
        p = self._registered
        if p is not None:
            self._registered = None
            if p._children is not None:
                p._children.pop(self, None)

    def _on_cancel(self) -> None:
        """What a kind of node does besides closing done (stop a timer, start a function)."""

    def _describe(self) -> str:
        return "WithCancel"

    def __repr__(self) -> str:
        return f"{self._parent!r}.{self._describe()}"


def _watch(parent: Context, child: _CancelCtx) -> None:
    """Cancel child when a foreign parent is done; end when child is done first."""
    i, _ = _rt.selectgo((parent.done().recv, child.done().recv))
    if i == 0:
        err = parent.err()
        child._cancel(True, err if err is not None else Canceled(), cause(parent))


class _TimerCtx(_CancelCtx):
    """A cancellable context with a deadline (Go: timerCtx)."""

    __slots__ = ("_deadline", "_timer")

    def __init__(self, parent: Context, deadline: float) -> None:
        super().__init__(parent)
        self._deadline = deadline
        self._timer: _rt.Timer | None = None

    def deadline(self) -> float | None:
        return self._deadline

    def _on_cancel(self) -> None:
        t = self._timer
        if t is not None:
            self._timer = None
            _rt.stop_timer(t)
            t.arg = None  # the stale heap entry must not keep this context alive

    def _describe(self) -> str:
        return f"WithDeadline({self._deadline:.6f} [{self._deadline - monotonic():.6f}s])"


def _deadline_fired(arg: tuple[_TimerCtx, BaseException | None], _now: int) -> None:
    # On the scheduler's path: start the goroutine that cancels (see the module essay).
    s = _rt.running()
    assert s is not None
    _rt.newproc(s, _deadline_cancel, arg, {}, None)


def _deadline_cancel(c: _TimerCtx, cause_: BaseException | None) -> None:
    c._cancel(True, DeadlineExceeded(), cause_)


class _AfterFuncCtx(_CancelCtx):
    """The node after_func hangs on its context (Go: afterFuncCtx)."""

    __slots__ = ("_args", "_f", "_started")

    def __init__(self, parent: Context, f: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__(parent)
        self._f: Callable[..., Any] | None = f
        self._args = args
        self._started = False  # f started, or stop() prevented it: Go's once

    def _on_cancel(self) -> None:
        if not self._started:
            self._started = True
            f, self._f = self._f, None
            assert f is not None
            s = _rt.running()
            if s is None:  # cancelled with no goroutine left (exit): f would never run
                return
            _rt.newproc(s, f, self._args, {}, None)

    def _stop(self) -> bool:
        _rt.no_goroutine_left()
        if self._started:
            return False
        self._started = True
        self._f = None
        self._cancel(True, Canceled(), None)
        return True

    def _describe(self) -> str:
        return "AfterFunc"


class _ValueCtx(Context):
    """A context carrying one key/value pair (Go: valueCtx)."""

    __slots__ = ("_key", "_parent", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def deadline(self) -> float | None:
        return self._parent.deadline()

    def done(self) -> Chan[None]:
        return self._parent.done()

    def err(self) -> BaseException | None:
        return self._parent.err()

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


class _WithoutCancel(_NeverDone):
    """The parent's values without its cancellation or deadline (Go: withoutCancelCtx)."""

    __slots__ = ("_parent",)

    def __init__(self, parent: Context) -> None:
        self._parent = parent

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithoutCancel"


def _value(c: Context, key: Any) -> Any:
    """Look key up from c towards the root, iteratively (Go: context.value)."""
    while True:
        t = type(c)
        if t is _ValueCtx:
            assert isinstance(c, _ValueCtx)
            k = c._key
            if k is key or (key is not _CANCEL_KEY and k == key):
                return c._val
            c = c._parent
        elif isinstance(c, _CancelCtx):
            if key is _CANCEL_KEY:
                return c
            c = c._parent
        elif t is _WithoutCancel:
            if key is _CANCEL_KEY:
                return None
            assert isinstance(c, _WithoutCancel)
            c = c._parent
        elif t is _Empty:
            return None
        else:
            return c.value(key)


def _cancellable(c: Context) -> bool:
    """False if c is gort's and can never be cancelled (no node to register with)."""
    while True:
        t = type(c)
        if t is _ValueCtx:
            assert isinstance(c, _ValueCtx)
            c = c._parent
        else:
            return t is not _Empty and t is not _WithoutCancel


def with_cancel(parent: Context) -> tuple[Context, Callable[[], None]]:
    """A child of ``parent`` and the function that cancels it (Go: context.WithCancel).

    Returns ``(ctx, cancel)``. ``cancel()`` closes ``ctx.done()``, sets
    ``ctx.err()`` to ``Canceled()`` and cancels ctx's children; calling it
    again does nothing. Call it when the work is over, even on success: it
    detaches ctx from ``parent``. TypeError if parent is not a Context.
    """
    c = _CancelCtx(_check_parent(parent, "with_cancel"))
    c._propagate()

    @_rt.on_m  # a cancel function may be called from any thread
    def cancel() -> None:
        _rt.no_goroutine_left()  # then done is only closed, and nothing started
        c._cancel(True, Canceled(), None)

    return c, cancel


def with_cancel_cause(
        parent: Context) -> tuple[Context, Callable[[BaseException | None], None]]:
    """Like with_cancel, but ``cancel(cause)`` records why (Go: context.WithCancelCause).

    ``ctx.err()`` is still ``Canceled()``; ``cause(ctx)`` returns the
    exception passed to cancel (or ``Canceled()`` when it was None).
    """
    c = _CancelCtx(_check_parent(parent, "with_cancel_cause"))
    c._propagate()

    @_rt.on_m  # a cancel function may be called from any thread
    def cancel(cause_: BaseException | None) -> None:
        _rt.no_goroutine_left()
        if cause_ is not None and not isinstance(cause_, BaseException):
            raise TypeError(f"gort.context: a cancel cause is an exception or None, "
                            f"got {cause_!r}")
        c._cancel(True, Canceled(), cause_)

    return c, cancel


def _with_deadline(parent: Context, d: float, cause_: BaseException | None,
                   who: str) -> tuple[Context, Callable[[], None]]:
    _check_parent(parent, who)
    if isinstance(d, bool) or not isinstance(d, int | float) or d != d:
        raise TypeError(f"gort.context.{who}: a deadline is a time.monotonic() value in "
                        f"seconds, got {d!r}")
    if cause_ is not None and not isinstance(cause_, BaseException):
        raise TypeError(f"gort.context.{who}: cause is an exception or None, got {cause_!r}")
    cur = parent.deadline()
    if cur is not None and cur < d:
        # The parent's deadline comes first: the child's would never fire.
        return with_cancel(parent)
    c = _TimerCtx(parent, d)
    c._propagate()
    dur = d - monotonic()
    if dur <= 0:
        c._cancel(True, DeadlineExceeded(), cause_)
    elif c._err is None:
        c._timer = _rt.start_timer(dur, 0, _deadline_fired, (c, cause_))

    @_rt.on_m  # a cancel function may be called from any thread
    def cancel() -> None:
        _rt.no_goroutine_left()
        c._cancel(True, Canceled(), None)

    return c, cancel


def with_deadline(parent: Context, d: float) -> tuple[Context, Callable[[], None]]:
    """A child cancelled at ``d`` at the latest (Go: context.WithDeadline).

    ``d`` is a ``time.monotonic()`` value in seconds. Returns ``(ctx,
    cancel)``; at the deadline ``ctx.err()`` becomes ``DeadlineExceeded()``.
    If parent's deadline is earlier, this is with_cancel(parent). Call
    cancel when done: it also stops the timer.
    """
    return _with_deadline(parent, d, None, "with_deadline")


def with_deadline_cause(parent: Context, d: float,
                        cause_: BaseException | None) -> tuple[Context, Callable[[], None]]:
    """with_deadline, with ``cause(ctx)`` set to ``cause_`` when the deadline passes."""
    return _with_deadline(parent, d, cause_, "with_deadline_cause")


def with_timeout(parent: Context, seconds: float) -> tuple[Context, Callable[[], None]]:
    """``with_deadline(parent, time.monotonic() + seconds)`` (Go: context.WithTimeout)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        raise TypeError(f"gort.context.with_timeout: a timeout is a number of seconds, "
                        f"got {seconds!r}")
    return _with_deadline(parent, monotonic() + seconds, None, "with_timeout")


def with_timeout_cause(parent: Context, seconds: float,
                       cause_: BaseException | None) -> tuple[Context, Callable[[], None]]:
    """with_timeout, with ``cause(ctx)`` set to ``cause_`` when the timeout passes."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        raise TypeError(f"gort.context.with_timeout_cause: a timeout is a number of "
                        f"seconds, got {seconds!r}")
    return _with_deadline(parent, monotonic() + seconds, cause_, "with_timeout_cause")


def with_value(parent: Context, key: Any, val: Any) -> Context:
    """A child whose ``value(key)`` is ``val`` (Go: context.WithValue).

    Keys match as Go's ``==`` on interface values does, in Python terms: the
    same object, or equal (``==``). Equal objects of different types match
    too (``1``, ``1.0`` and ``True`` are one key), so use a key of a type of
    your own (``KEY = object()`` or a class) to avoid collisions between
    packages, as Go advises. TypeError for a None or unhashable key.
    """
    _check_parent(parent, "with_value")
    if key is None:
        raise TypeError("gort.context.with_value: key is None; use an object of your own "
                        "as the key, e.g. USER_KEY = object()")
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"gort.context.with_value: key {key!r} is not hashable (Go: not "
                        "comparable); use an object of your own as the key") from None
    return _ValueCtx(parent, key, val)


def without_cancel(parent: Context) -> Context:
    """parent's values, but never cancelled and no deadline (Go: context.WithoutCancel)."""
    return _WithoutCancel(_check_parent(parent, "without_cancel"))


def cause(ctx: Context) -> BaseException | None:
    """Why ctx was cancelled (Go: context.Cause).

    The cause given to a ``with_cancel_cause`` cancel (or a ``*_cause``
    deadline) of ctx or the ancestor that cancelled it; else ``ctx.err()``;
    None while ctx is not cancelled.
    """
    c = _value(_check_parent(ctx, "cause"), _CANCEL_KEY)
    if not isinstance(c, _CancelCtx):
        return ctx.err()
    return c._cause


def after_func(ctx: Context, f: Callable[..., Any], /, *args: Any) -> Callable[[], bool]:
    """Run ``f(*args)`` in its own goroutine once ctx is done (Go: context.AfterFunc).

    If ctx is already done, f starts at once. Returns ``stop``: ``stop()``
    unhooks f and returns True if that prevented f from starting, False if f
    had started (or stop was called before). f's exceptions are a
    goroutine's: uncaught, they end the run.
    """
    _check_parent(ctx, "after_func")
    if not callable(f):
        raise TypeError(f"gort.context.after_func: {f!r} is not callable; pass the function "
                        "and its arguments separately")
    a = _AfterFuncCtx(ctx, f, args)
    a._propagate()
    return a._stop


def _raise_err(ctx: Context) -> None:
    """Raise a fresh copy of ``ctx.err()`` (its cause chained) if ctx is done."""
    err = ctx.err()
    if err is None:
        return
    raise _fresh(ctx, err)


def _fresh(ctx: Context, err: BaseException) -> BaseException:
    e = type(err)(*err.args)
    c = cause(ctx)
    if c is not None and c is not err:
        e.__cause__ = c
    return e


for _cls in (Canceled, Context, DeadlineExceeded):
    _cls.__module__ = "gort.context"
