"""Every non-blocking gort.sync, semaphore and context operation from a finalizer at
interpreter exit (issue 9), with an abandoned goroutine waiting on each object.

The finalizer runs during interpreter finalization, after the runtime ended: no
goroutine is left, so each operation completes against its object alone and
wakes nobody (the waiters are abandoned, never resumed: "RESUMED" would be
printed). A lock that needs a wait raises error.Finalizing, naming what works.
Before: RWMutex.unlock/runlock, Cond.signal/broadcast, Semaphore.release and
every context cancel raised Finalizing ("Exception ignored in ...").
"""

import sys

import gort
from gort import context, semaphore
from gort.runtime import Finalizing
from gort.sync import Cond, Mutex, Once, RWMutex

out = sys.stdout
rw_w = RWMutex()  # write-locked at exit, a reader waiting
rw_r = RWMutex()  # read-locked at exit, a writer waiting
rw_free = RWMutex()
mu = Mutex()  # free at exit
held = Mutex()  # locked at exit
cond = Cond(Mutex())
sem = semaphore.Weighted(2)
once = Once()
ctx, cancel = context.with_cancel(context.background())
child, _child_cancel = context.with_cancel(ctx)
tctx, tcancel = context.with_timeout(context.background(), 3600)
fctx, fcancel = context.with_cancel(context.background())
stop_after = context.after_func(fctx, lambda: print("RESUMED after_func ran"))


class Waiter:
    def rlock(self) -> None:
        rw_w.rlock()
        print("RESUMED reader")

    def lock(self) -> None:
        rw_r.lock()
        print("RESUMED writer")

    def wait(self) -> None:
        with cond.L:
            cond.wait()
        print("RESUMED cond waiter")

    def acquire(self) -> None:
        sem.acquire(context.background(), 1)
        print("RESUMED semaphore waiter")


class Last:
    def __init__(self) -> None:
        self.me = self  # a cycle: finalized by the interpreter's last collections

    def __del__(self) -> None:
        res: list[object] = []
        rw_w.unlock()
        res.append(("unlock", rw_w.try_lock()))  # free again (the reader never got it)
        rw_r.runlock()
        res.append(("runlock", rw_r.try_rlock(), rw_r.try_lock()))
        rw_free.rlock()
        rw_free.runlock()
        rw_free.lock()
        try:
            rw_free.lock()
        except Finalizing:
            res.append("relock: Finalizing")
        rw_free.unlock()
        mu.lock()  # free: no wait
        mu.unlock()
        try:
            held.lock()
        except Finalizing:
            res.append("held: Finalizing")
        once.do(res.append, "once ran")
        once.do(res.append, "once ran twice")
        cond.signal()
        cond.broadcast()
        sem.release(1)
        res.append(("sem", sem.try_acquire(1), sem.try_acquire(1)))
        cancel()
        res.append(("ctx", type(ctx.err()).__name__, type(child.err()).__name__))
        tcancel()
        res.append(("timeout ctx", type(tctx.err()).__name__))
        fcancel()
        res.append(("after_func", stop_after(), type(fctx.err()).__name__))
        out.write(f"fin {res}\n")
        out.flush()


w = Waiter()
rw_w.lock()
rw_r.rlock()
held.lock()
sem.acquire(context.background(), 2)
for f in (w.rlock, w.lock, w.wait, w.acquire):
    gort.go(f)
gort.sleep(0.01)
last = Last()
print("main done")
