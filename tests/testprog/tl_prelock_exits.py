"""Two goroutines compute directly inside `with L:` blocks over a lock made before
`import gort`, past their slice, leaving the blocks every way a block can end: its end,
`raise` in the block, an exception from a callee, `return`, `break`. A ticker sleeping
1 ms checks that no worker was switched out inside a block. Compared with the same over
a lock made after `import gort` (whose holder may be switched out anywhere), run first.

Each preemption request waits for the block's release. Before stop 33 the hook waiting
for it ran on every instruction of the block's frame: such blocks ran about 100 times
slower than over the later lock. A hook that waited on calls instead (stop 32, not kept)
never saw a block left by an exception (its `__exit__` is called by WITH_EXCEPT_START,
with no call event): the ticker got 0-2 of about 1,500 turns (helper-73, F1).

argv[1]: lock | rlock | cond (a Condition over a Lock). Prints the counts and OK; the
measurements go to stderr.
"""
import sys
import threading
import time


def make() -> object:
    if sys.argv[1] == "cond":
        return threading.Condition(threading.Lock())
    return {"lock": threading.Lock, "rlock": threading.RLock}[sys.argv[1]]()


PRE = make()

import gort  # noqa: E402  (the lock above is made before gort, on purpose)

POST = make()
WORK = 60_000  # additions in a block: about 3 ms of CPU on 3.11
ROUNDS = 6  # per worker, each round every shape once: 2 x 6 x 5 = 60 blocks
counter = 0
inside = 0
violations = 0
ticks = 0
done = False


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom


def at_end(lk: object) -> None:
    global counter, inside
    with lk:  # type: ignore[attr-defined]
        inside += 1
        x = counter
        for _ in range(WORK):
            x += 0
        counter = x + 1
        inside -= 1


def raised(lk: object) -> None:
    global counter, inside
    with lk:  # type: ignore[attr-defined]
        inside += 1
        x = counter
        for _ in range(WORK):
            x += 0
        counter = x + 1
        inside -= 1
        raise Boom


def raised_below(lk: object) -> None:
    global counter, inside
    with lk:  # type: ignore[attr-defined]
        inside += 1
        x = counter
        for _ in range(WORK):
            x += 0
        counter = x + 1
        inside -= 1
        boom()


def returned(lk: object) -> int:
    global counter, inside
    with lk:  # type: ignore[attr-defined]
        inside += 1
        x = counter
        for _ in range(WORK):
            x += 0
        counter = x + 1
        inside -= 1
        return x


def broken(lk: object) -> None:
    global counter, inside
    for _ in range(3):
        with lk:  # type: ignore[attr-defined]
            inside += 1
            x = counter
            for _ in range(WORK):
                x += 0
            counter = x + 1
            inside -= 1
            break


SHAPES = (at_end, raised, raised_below, returned, broken)


def worker(lk: object) -> None:
    for _ in range(ROUNDS):
        for shape in SHAPES:
            try:
                shape(lk)
            except Boom:
                pass


def ticker() -> None:
    global ticks, violations
    while not done:
        gort.sleep(0.001)
        ticks += 1
        if inside:
            violations += 1  # a worker was switched out inside its block


def measure(lk: object) -> tuple[float, int, int, int, int]:
    """(thread CPU seconds, counter, violations, ticks, 'thread lock held' deferrals)."""
    global counter, violations, ticks, done
    counter = violations = ticks = 0
    done = False
    held0 = gort.stats()["preempt_deferred"].get("thread lock held", 0)
    gort.go(ticker)
    gort.sleep(0.005)
    t = time.thread_time()
    wg = gort.sync.WaitGroup()
    for _ in range(2):
        wg.go(worker, lk)
    wg.wait()
    cpu = time.thread_time() - t
    done = True
    gort.sleep(0.005)
    held = gort.stats()["preempt_deferred"].get("thread lock held", 0) - held0
    return cpu, counter, violations, ticks, held


def main() -> None:
    blocks = 2 * ROUNDS * len(SHAPES)
    post = measure(POST)
    pre = measure(PRE)
    ratio = pre[0] / max(post[0], 1e-3)
    print(f"post: {post} pre: {pre} ratio {ratio:.2f}", file=sys.stderr)
    bad = []
    # (A goroutine holding the later lock may be switched out in its block: a waiter for
    # that lock parks. The ticker takes no lock.)
    if pre[1:3] != (blocks, 0) or post[1] != blocks:
        bad.append("counts or violations")
    if pre[3] < 5:
        # One turn a slice or so (about 20 at the default slice): a worker asked to stop
        # is switched out at its block's end. F1's hook let the ticker in 0-2 times.
        bad.append("ticker starved")
    if pre[4] == 0 or post[4] != 0:
        bad.append("deferral counter")  # moves for the early lock only
    if ratio > 8:
        bad.append("slow")  # about 1 now; about 100 with a hook on every instruction
    print(pre[1], pre[2], post[1], "OK" if not bad else f"BAD {bad}")


gort.run(main)
