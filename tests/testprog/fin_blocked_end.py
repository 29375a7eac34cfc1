"""A run ends while the finalizer goroutine is parked in a blocked ``__del__`` (issue 9).

The blocked finalizer belongs to an abandoned goroutine: it is never resumed
and none of its handlers runs ("handler" would be printed), and its release
reports nothing (before: "Exception ignored ... GreenletExit", and its
``finally`` ran). The collection it was part of completes when it is
released (at gort.run's return), so the other finalizers of that collection
run then, outside any runtime: their non-blocking operations work, their
blocking ones raise error.Finalizing. The collector works afterwards (a
collection in progress for good would stop every later one).
"""

import gc
import sys
import weakref

import gort
from gort.runtime import Finalizing

events: list[str] = []
blocked: list[int] = []
pool: gort.Chan[int] = gort.Chan(4)


class Res:
    def __init__(self, i: int, ch: gort.Chan[int]) -> None:
        self.me = self  # a cycle: found by a collection, finalized in the finalizer goroutine
        self.i = i
        self.ch = ch

    def __del__(self) -> None:
        events.append("del")
        if not blocked:  # the first to run (the collector's order differs by version)
            blocked.append(self.i)
            try:
                self.ch.send(self.i)  # nobody receives: parks the finalizer goroutine
                events.append("handler: after send")
            finally:
                events.append("handler: finally")
        else:
            i, _ = gort.select((pool.send, self.i), gort.default)
            events.append("pooled" if i == 0 else "default")
            try:
                self.ch.send(self.i)
            except Finalizing as e:
                events.append("blocking send: Finalizing" if "releases the goroutines"
                              in str(e) else f"wrong message: {e}")


def main() -> None:
    ch: gort.Chan[int] = gort.Chan()
    for i in range(3):
        Res(i, ch)  # garbage cycles, found by the finalizer goroutine's collection
    for _ in range(2000):  # garbage enough for a collection to come due
        x: list[object] = []
        x.append(x)
    for _ in range(50):
        gort.sleep(0.001)


gort.run(main)
print("after run:", events, "pooled", len(pool))


class Probe:
    pass


p = Probe()
p.me = p  # type: ignore[attr-defined]
r = weakref.ref(p)
del p
gc.collect()
print("collector works:", r() is None)
sys.stdout.flush()
