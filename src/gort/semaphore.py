"""A weighted semaphore for goroutines (Go: golang.org/x/sync/semaphore).

``Weighted(n)`` holds ``n`` tokens. ``acquire(ctx, k)`` takes k of them,
waiting in a FIFO queue while they are not available; ``release(k)`` gives
them back and wakes waiters from the head of the queue for as long as each
one's request fits.

Invariants (semaphore.go's, checked by the tests):
- ``0 <= _cur <= _size``;
- a waiter is in ``_waiters`` until it is granted (its tokens are then
  counted in ``_cur`` and its ``ready`` channel closed) or it gives up;
- FIFO without starvation: the head is served first, and while the head's
  request does not fit, nobody behind it is served, even a smaller request
  that would fit (a stream of small acquires cannot starve a large one);
- a waiter that gives up (its context is done, or an exception is delivered
  to it while it waits) leaves the queue consistent: if it had been granted
  meanwhile it puts its tokens back, and if it was the head it wakes the
  waiters behind it that now fit (Go's notifyWaiters after a cancelled
  Acquire).

A waiter parks in ``gort.select`` on its ``ready`` channel and its
context's ``done()``, so every wait is interruptible (proc.goraise cancels a
select cleanly). The queue is a dict used as an ordered set: O(1) append,
head and removal from the middle. Single M and no preemption inside gort's
code: no lock is needed between the check and the update.
"""

from __future__ import annotations

from . import context as _context
from . import runtime as _rt
from .runtime import Chan

__all__ = ["Weighted"]


class _Waiter:
    __slots__ = ("g", "n", "ready")

    def __init__(self, n: int, gp: _rt.G) -> None:
        self.n = n
        self.ready: Chan[None] = Chan()
        self.g = gp  # DEAD once its run ended and abandon.reap released it


def _drop_abandoned(waiters: dict[_Waiter, None]) -> None:
    """Forget the waiters at the head whose goroutine an ended run abandoned (they are
    the oldest, so at the head): granted tokens, one would keep them for good."""
    while waiters:
        w = next(iter(waiters))
        if w.g.status is not _rt.Gstatus.DEAD:
            return
        del waiters[w]


def _check_n(n: object, who: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"semaphore: Weighted.{who}: a weight is an int, got {n!r}")
    if n < 0:
        raise ValueError(f"semaphore: Weighted.{who}: negative weight {n}; pass a weight >= 0")
    return n


class Weighted:
    """A semaphore of ``n`` tokens, acquired and released in weights (Go: semaphore.Weighted).

    ``n`` is an int >= 0 (TypeError, ValueError otherwise).
    """

    __slots__ = ("_cur", "_size", "_waiters")

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"semaphore: Weighted size must be an int, got {n!r}")
        if n < 0:
            raise ValueError(f"semaphore: Weighted size {n} is negative; pass a size >= 0")
        self._size = n
        self._cur = 0
        self._waiters: dict[_Waiter, None] = {}

    def acquire(self, ctx: _context.Context, n: int = 1) -> None:
        """Take n tokens, parking until they are available or ctx is done (Go: Acquire).

        Raises ``ctx.err()`` (a fresh ``Canceled`` or ``DeadlineExceeded``)
        if ctx is done first, having taken nothing; if ctx is already done it
        raises without looking at the tokens. A request larger than the size
        can never be granted: as in Go it waits for ctx (so with
        ``background()`` it never returns). ValueError for n < 0.
        """
        gp = _rt.getg()
        _check_n(n, "acquire")
        if not isinstance(ctx, _context.Context):
            raise TypeError(f"semaphore: Weighted.acquire: the first argument is a context, "
                            f"got {ctx!r}; pass gort.context.background() for none")
        if gp.preempt:
            _rt.gopreempt_m(gp, False)
        _context._raise_err(ctx)
        _drop_abandoned(self._waiters)
        if self._size - self._cur >= n and not self._waiters:
            self._cur += n
            return
        done = ctx.done()
        if n > self._size:
            _rt.selectgo((done.recv,))
            _context._raise_err(ctx)
            raise AssertionError("semaphore: a done context has no error")
        w = _Waiter(n, gp)
        self._waiters[w] = None
        try:
            i, _ = _rt.selectgo((w.ready.recv, done.recv))
        except BaseException:
            self._give_up(w)
            raise
        if i == 1:
            self._give_up(w)
            _context._raise_err(ctx)
        elif ctx.err() is not None:
            # Granted, but the context is done too: do not pretend to hold the tokens.
            self.release(n)
            _context._raise_err(ctx)

    def _give_up(self, w: _Waiter) -> None:
        """w stops waiting: undo a grant that raced with it, or leave the queue."""
        if w.ready.closed:
            self._cur -= w.n
            self._notify()
            return
        first = next(iter(self._waiters))
        del self._waiters[w]
        if first is w and self._size > self._cur:
            self._notify()

    @_rt.on_m  # non-blocking: callable from any thread
    def try_acquire(self, n: int = 1) -> bool:
        """Take n tokens if they are free and nobody waits; never blocks (Go: TryAcquire)."""
        alone = _rt.no_goroutine_left()  # then the waiters are abandoned: none counts
        _check_n(n, "try_acquire")
        _drop_abandoned(self._waiters)
        if self._size - self._cur >= n and (alone or not self._waiters):
            self._cur += n
            return True
        return False

    @_rt.on_m  # non-blocking: callable from any thread
    def release(self, n: int = 1) -> None:
        """Give back n tokens and wake the waiters at the head that now fit (Go: Release).

        RuntimeError if that would release more than is held (Go panics).
        """
        alone = _rt.no_goroutine_left()  # then the waiters are abandoned: none is served
        _check_n(n, "release")
        if n > self._cur:
            raise RuntimeError(f"semaphore: released more than held: release({n}) with "
                               f"{self._cur} held; release exactly what acquire took")
        self._cur -= n
        if not alone:
            self._notify()

    def _notify(self) -> None:
        """Grant the waiters at the head while each one's request fits (Go: notifyWaiters)."""
        waiters = self._waiters
        _drop_abandoned(waiters)
        while waiters:
            w = next(iter(waiters))
            if self._size - self._cur < w.n:
                # The head does not fit: serve nobody behind it, so it cannot starve.
                break
            self._cur += w.n
            del waiters[w]
            w.ready.close()

    @property
    def size(self) -> int:
        """The number of tokens the semaphore was made with."""
        return self._size

    def __repr__(self) -> str:
        return (f"<gort.semaphore.Weighted size={self._size} held={self._cur} "
                f"waiters={len(self._waiters)}>")


Weighted.__module__ = "gort.semaphore"
