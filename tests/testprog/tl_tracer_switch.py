"""A profile, trace or sys.monitoring callback that takes an RLock its goroutines also take,
with several goroutines switching (issue 8, point 5; adversarial round 3, F0's rest).

Each event must reach the callback on the stack of the goroutine the runtime says is
running (``goroutine_ident``, the identity RLock ownership and ``threading.local`` go
by). Before the fix the scheduler's switch path, in Python, ran the callback on the
switched-out goroutine's stack after ``mp.curg`` already named the next one: an RLock
the switched-out goroutine held looked foreign to its own callback (RuntimeError: a
park inside a callback), a free one was taken in the next goroutine's name, and
``threading.local`` state was the next goroutine's.

argv[1]: profile | trace | monitoring (3.12+); argv[2]: the number of runs (one process,
``gort.run`` again and again). Three workers pass a token round a ring of channels, take
the RLock, sleep(0), spin (asynchronous preemption points) and block on a Condition of
the RLock; the callback checks its goroutine's identity on every event, and counts the
program's own functions' events under the same RLock.
Prints ``OK <runs>`` or FAIL with what was wrong.
"""
import sys
import threading
from typing import Any

from greenlet import getcurrent

import gort
import gort.sync
from gort.runtime.threadlock import goroutine_ident

HOW, RUNS = sys.argv[1], int(sys.argv[2])
N = 30  # rounds per worker
LOCK = threading.RLock()
COND = threading.Condition(LOCK)
idents: dict[object, int] = {}  # a goroutine's greenlet -> its identity
seen = [0]
mine = threading.local()  # per goroutine under gort: events seen by each
wrong: list[str] = []


def callback(code_or_frame: object, *_rest: object) -> None:
    code: Any = getattr(code_or_frame, "f_code", code_or_frame)
    me = idents.get(getcurrent())
    if me is not None and me != goroutine_ident() and len(wrong) < 5:
        wrong.append(f"{getattr(code, 'co_name', '?')} as {goroutine_ident()}, not {me}")
    if getattr(code, "co_filename", "") == __file__ and LOCK.acquire(blocking=False):
        # The program's own functions' statistics, guarded by the program's RLock: held
        # by the running goroutine or free (the token ring lets one worker at a time
        # into it). Not for gort's code: a goroutine of the runtime's (the finalizers')
        # may run while a worker preempted inside the block holds it, and a callback
        # cannot wait for another goroutine (docs/design.md, F0's "what stays"). Nor for
        # the next worker: preempted inside its block (right after COND.wait or the
        # acquire returns: the hook below gort's frames, B4) it holds the lock while this
        # one still has events to report before it parks, so the lock is taken only if
        # free or this goroutine's (acquire(blocking=False), as docs/api.md advises).
        # A callback run on the wrong stack is still caught by the identity check above.
        try:
            seen[0] += 1
        finally:
            LOCK.release()
    mine.n = getattr(mine, "n", 0) + 1


def tracer(frame: object, event: str, arg: object) -> object:
    callback(frame)
    return tracer


def start() -> None:
    if HOW == "profile":
        sys.setprofile(callback)
    elif HOW == "trace":
        sys.settrace(tracer)
    else:
        mon = sys.monitoring  # type: ignore[attr-defined]
        mon.use_tool_id(3, "tl_tracer_switch")
        ev = mon.events
        for e in (ev.PY_START, ev.PY_RETURN, ev.LINE, ev.CALL):
            mon.register_callback(3, e, callback)
        mon.set_events(3, ev.PY_START | ev.PY_RETURN | ev.LINE | ev.CALL)


def stop() -> None:
    sys.setprofile(None)
    sys.settrace(None)
    if HOW == "monitoring":
        sys.monitoring.set_events(3, 0)  # type: ignore[attr-defined]
        sys.monitoring.free_tool_id(3)  # type: ignore[attr-defined]


def worker(i: int, inbox: gort.Chan, outbox: gort.Chan, total: list[int],
           per_g: list[int]) -> None:
    idents[getcurrent()] = goroutine_ident()
    for k in range(N):
        tok = inbox.recv()
        with LOCK:
            total[0] += 1
            if k % 7 == i:
                COND.wait(0)  # released and taken back (parks on the RLock if contended)
        gort.sleep(0)
        x = 0
        for j in range(300):  # back edges: asynchronous preemption points
            x += j
        outbox.send(tok)
    per_g[i] = getattr(mine, "n", 0)
    # From its return on, the greenlet may run a goroutine that never ran (execute hands
    # a finished goroutine's greenlet over): no longer this one's identity.
    del idents[getcurrent()]


def one_run() -> str:
    total = [0]
    per_g = [0, 0, 0]
    idents[getcurrent()] = goroutine_ident()
    chans = [gort.Chan(1) for _ in range(3)]
    wg = gort.sync.WaitGroup()
    start()
    try:
        for i in range(3):
            wg.go(worker, i, chans[i], chans[(i + 1) % 3], total, per_g)
        chans[0].send("token")
        wg.wait()
        chans[0].recv()
    finally:
        stop()
        idents.clear()
    if wrong:
        return "FAIL callback as another goroutine: " + "; ".join(wrong)
    if total[0] != 3 * N:
        return f"FAIL total {total[0]} != {3 * N}"
    if not all(per_g):
        return f"FAIL a goroutine got no events: {per_g}"
    if LOCK._is_owned() or seen[0] == 0:
        return f"FAIL lock owned {LOCK._is_owned()} callbacks {seen[0]}"
    return ""


def main() -> None:
    for r in range(RUNS):
        try:
            err = gort.run(one_run)
        except RuntimeError as e:
            err = f"FAIL RuntimeError {e}"
        if err:
            print(f"run {r}: {err}")
            return
    print("OK", RUNS)


main()
