"""Goroutines working on subtasks of one task, with the first error (Go: x/sync/errgroup).

A ``Group`` counts the goroutines it started (a WaitGroup) and keeps the
first exception one of them raised; ``with_context`` adds a context that is
cancelled, with that exception as its cause, as soon as it happens (and when
``wait`` returns), so the others can stop early.

Errors are exceptions. A goroutine of the group that raises an ``Exception``
has failed: the group records it, and the goroutine ends normally. A
``BaseException`` that is not an ``Exception`` (KeyboardInterrupt,
SystemExit, gort's teardown) is not an error of the task: it escapes the
goroutine, as an uncaught exception does (it ends the run).

Later errors. Go keeps only the first error and drops the rest. ``wait``
raises the first, as Go returns it, so ``except SomeError`` works on the
cause of the failure; the rest are not dropped: ``Group.errors`` lists every
exception in the order they were raised, and the first one gets a note
naming the others (``errgroup: 2 more goroutines failed: ...``) when ``wait``
raises it. Rejected: raising an ``ExceptionGroup``: every caller would need
``except*`` to catch the one error it expects, and after the first error most
later ones are the ``Canceled`` that the first error caused.

Goroutines start through ``_run``, a wrapper marked as a user-code boundary
(runtime/preempt.py USER_BOUNDARY_CODES): the user's function above it stays
preemptible although a gort frame is below it. The limit is a buffered
channel used as a semaphore, as Go's.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from . import context as _context
from . import runtime as _rt
from .runtime import Chan
from .sync.waitgroup import WaitGroup

__all__ = ["Group", "with_context"]


def _safe_point() -> None:
    """go and try_go's synchronous safe point, before anything is done: an exception
    delivered there (a signal handler's) means no goroutine started and no slot of the
    limit was taken; raised after, a program that redoes what an exception interrupted
    started fn twice (gort.go)."""
    gp = _rt.getg()
    if gp.preempt:
        _rt.gopreempt_m(gp, False)


class Group:
    """A group of goroutines working on one task (Go: errgroup.Group).

    ``Group()`` has no context and no limit. ``errors`` lists every exception
    the group's goroutines raised, first to last. Use as a context manager to
    wait on exit::

        with errgroup.Group() as g:
            g.go(fetch, url)
        # here every goroutine has returned; the first error was raised
    """

    __slots__ = ("_cancel", "_noted", "_sem", "_wg", "errors")

    def __init__(self) -> None:
        self._wg = WaitGroup()
        self._sem: Chan[None] | None = None
        self._cancel: Callable[[BaseException | None], None] | None = None
        self._noted = False
        self.errors: list[Exception] = []  # every exception raised, first to last

    @_rt.on_m  # non-blocking: callable from any thread
    def go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Start ``fn(*args, **kwargs)`` in a new goroutine of the group (Go: Group.Go).

        With a limit set, parks until a running goroutine of the group
        returns. An ``Exception`` fn raises is recorded (the first one
        cancels the group's context).
        """
        if not callable(fn):
            raise TypeError(f"errgroup: Group.go: {fn!r} is not callable; pass the function "
                            "and its arguments separately, e.g. g.go(fetch, url)")
        _safe_point()
        sem = self._sem
        if sem is not None:
            sem.send(None)
        self._start(fn, args, kwargs)

    @_rt.on_m  # non-blocking: callable from any thread
    def try_go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> bool:
        """Start fn as go does only if the limit allows it now; True if started (Go: TryGo)."""
        if not callable(fn):
            raise TypeError(f"errgroup: Group.try_go: {fn!r} is not callable; pass the "
                            "function and its arguments separately")
        _safe_point()
        sem = self._sem
        if sem is not None and not sem.try_send(None):
            return False
        self._start(fn, args, kwargs)
        return True

    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> None:
        self._wg.add(1)
        s = _rt.running()
        assert s is not None
        _rt.newproc(s, _run, (self, fn, args, kwargs), {}, _rt.getg())

    def _fail(self, e: Exception) -> None:
        self.errors.append(e)
        if len(self.errors) == 1 and self._cancel is not None:
            self._cancel(e)

    def _done(self) -> None:
        sem = self._sem
        if sem is not None:
            sem.try_recv()
        self._wg.done()

    def set_limit(self, n: int) -> None:
        """At most n goroutines of the group at a time; n < 0: no limit (Go: SetLimit).

        RuntimeError when changing a limit while goroutines started under it
        are running (as Go; set the limit before starting any, or after wait).
        A group that had no limit takes one at any time.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"errgroup: set_limit takes an int, got {n!r}")
        if n < 0:
            self._sem = None
            return
        if self._sem is not None and len(self._sem) != 0:
            raise RuntimeError(f"errgroup: modify limit while {len(self._sem)} goroutines in "
                               "the group are still active; call set_limit before go, or "
                               "after wait")
        self._sem = Chan(n)

    def wait(self) -> None:
        """Park until every goroutine of the group has returned; raise the first error.

        Cancels the group's context (with_context) either way. The first
        exception is raised as it was, with a note naming any later ones
        (all of them are in ``errors``). Go: Group.Wait.
        """
        self._wg.wait()
        if self._cancel is not None:
            self._cancel(self.errors[0] if self.errors else None)
        if self.errors:
            first = self.errors[0]
            rest = self.errors[1:]
            if rest and not self._noted:
                self._noted = True
                more = ", ".join(repr(e) for e in rest)
                first.add_note(f"errgroup: {len(rest)} more goroutine"
                               f"{'s' if len(rest) > 1 else ''} failed: {more} "
                               "(Group.errors has them all)")
            raise first

    def __enter__(self) -> Group:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Wait on exit (raising the first error).

        If the body raised, or the wait itself is interrupted (Ctrl-C), the
        group's context is cancelled with that exception as its cause, the
        goroutines are waited for, and the exception propagates, with a note
        naming the group's first error if there was one.
        """
        if ev is None:
            try:
                self.wait()
            except Exception:
                raise
            except BaseException as e:
                self._abort(e)
                raise
            return
        self._abort(ev)

    def _abort(self, ev: BaseException) -> None:
        if self._cancel is not None:
            self._cancel(ev)
        try:
            self.wait()
        except Exception as e:
            ev.add_note(f"errgroup: a goroutine of the group also failed: {e!r}")


@_rt.user_code_boundary
def _run(g: Group, fn: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> None:
    try:
        fn(*args, **kwargs)
    except Exception as e:
        g._fail(e)
    finally:
        g._done()


def with_context(ctx: _context.Context) -> tuple[Group, _context.Context]:
    """A new Group and a context derived from ctx (Go: errgroup.WithContext).

    The context is cancelled the first time a goroutine of the group raises
    (``gort.context.cause`` of it is that exception) or when ``wait``
    returns, whichever comes first. Returns ``(group, ctx)``.
    """
    derived, cancel = _context.with_cancel_cause(ctx)
    g = Group()
    g._cancel = cancel
    return g, derived


Group.__module__ = "gort.errgroup"
