"""Finalizers that run at interpreter exit call gort's non-blocking operations (issue 9).

The resource-pool pattern with pooled objects alive until exit: their
``__del__`` runs during interpreter finalization, after the runtime ended,
and does a non-blocking send (and the other non-blocking operations). The
same program under threads (queue.Queue.put_nowait, Lock.release) prints
nothing at exit: this one must print nothing either (before, every send
printed "Exception ignored ... the interpreter is shutting down"). Prints one
line per operation's outcome from the finalizers, to stdout, which is still
open then.
"""

import sys

import gort

pool: gort.Chan[int] = gort.Chan(2)  # room for two of the three tokens
full: gort.Chan[int] = gort.Chan()  # unbuffered: its receiver is an abandoned goroutine
done = gort.Chan[int](1)
wg = gort.sync.WaitGroup()
mu = gort.sync.Mutex()
timer = gort.time.Timer(3600)
out = sys.stdout


class Conn:
    """Pooled: kept alive by a cycle and a module global until exit."""

    def __init__(self, tok: int) -> None:
        self.tok = tok
        self.me = self

    def __del__(self) -> None:
        i, _ = gort.select((pool.send, self.tok), gort.default)
        j, _ = gort.select((full.send, self.tok), gort.default)
        out.write(f"tok={self.tok} pool={'sent' if i == 0 else 'default'} "
                  f"unbuffered={'sent' if j == 0 else 'default'}\n")


class Last:
    def __del__(self) -> None:
        i, v = gort.select(pool.recv_ok, gort.default)
        wg.done()
        mu.unlock()
        out.write(f"recv={i},{v} stop={timer.stop()} stop_again={timer.stop()} "
                  f"try_lock={mu.try_lock()}\n")
        done.close()
        i, v = gort.select(done.recv_ok, gort.default)
        out.write(f"closed_recv={i},{v}\n")
        out.flush()


conns = [Conn(t) for t in range(3)]
last = Last()
wg.add(1)
mu.lock()
gort.go(full.recv)  # parked in full's recvq when the run ends: never resumed
gort.sleep(0.01)
print("main done")
