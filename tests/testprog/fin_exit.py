"""Finalizers that run at interpreter exit call gort's non-blocking operations (issue 9).

The resource-pool pattern with pooled objects alive until exit: their
``__del__`` runs during interpreter finalization, after the runtime ended,
and does a non-blocking send (and the other non-blocking operations). The
same program under threads (queue.Queue.put_nowait, Lock.release) prints
nothing at exit: this one must print nothing either (before, every send
printed "Exception ignored ... the interpreter is shutting down"). Prints one
line per finalizer with its operations' outcomes, to stdout, which is still
open then; the finalizers' order is the interpreter's (it differs between
3.11 and 3.13), so each line stands alone.
"""

import sys

import gort

pool: gort.Chan[int] = gort.Chan(2)  # room for two of the three tokens
box: gort.Chan[int] = gort.Chan(1)
box.send(7)
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
        out.write(f"conn pool={'sent' if i == 0 else 'default'} "
                  f"unbuffered={'sent' if j == 0 else 'default'}\n")


class Last:
    def __del__(self) -> None:
        i, v = gort.select(box.recv_ok, gort.default)
        wg.done()
        mu.unlock()
        stop = timer.stop()
        done.close()
        j, w = gort.select(done.recv_ok, gort.default)
        out.write(f"last recv={i},{v} stop={stop} stop_again={timer.stop()} "
                  f"try_lock={mu.try_lock()} closed_recv={j},{w}\n")
        out.flush()


conns = [Conn(t) for t in range(3)]
last = Last()
wg.add(1)
mu.lock()
gort.go(full.recv)  # parked in full's recvq when the run ends: never resumed
gort.sleep(0.01)
print("main done")
