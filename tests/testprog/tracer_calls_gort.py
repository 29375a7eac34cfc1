"""A profile, trace or 3.12+ monitoring function that calls gort at every event, while
goroutines ping-pong on a channel, sleep (the M goes idle) and spin (preempted).

Every event must come on a goroutine's stack: a gort call from it works (a
non-blocking select on a buffered channel). Before, the callback also ran on the
scheduling round's frames, find_runnable's, and in the idle wait no goroutine was
current: "gort: called outside any goroutine" (adversarial round 7, finding 3).

argv[1]: trace, profile or monitoring. Prints "OK" and whether every goroutine saw
events; else the first error the callback met.
"""
import sys
import time

import gort
import gort.sync

HOW = sys.argv[1]
side = gort.Chan(1)
errors: list[str] = []
seen: dict[str, int] = {}
calls = [0]


def on_event(*_args: object) -> None:
    try:
        gort.select((side.send, 1), gort.default)
        gort.select(side.recv, gort.default)
        calls[0] += 1
    except BaseException as e:  # the run reports it
        if not errors:
            errors.append(f"{type(e).__name__}: {e}")


def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
    on_event()
    name = frame.f_code.co_name
    seen[name] = seen.get(name, 0) + 1
    return tracer


def profiler(frame, event, arg):  # type: ignore[no-untyped-def]
    on_event()
    name = frame.f_code.co_name
    seen[name] = seen.get(name, 0) + 1


def ping(c: gort.Chan, d: gort.Chan) -> None:
    for i in range(300):
        c.send(i)
        d.recv()


def pong(c: gort.Chan, d: gort.Chan) -> None:
    for _ in range(300):
        d.send(c.recv())


def sleeper() -> None:
    for _ in range(30):
        gort.sleep(0.001)


def spinner() -> None:
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        pass


def main() -> None:
    if HOW == "trace":
        sys.settrace(tracer)
    elif HOW == "profile":
        sys.setprofile(profiler)
    else:
        mon = sys.monitoring  # type: ignore[attr-defined]
        mon.use_tool_id(3, "tracer_calls_gort")
        mon.register_callback(3, mon.events.PY_START,
                              lambda code, off: (on_event(), seen.__setitem__(
                                  code.co_name, seen.get(code.co_name, 0) + 1)))
        mon.set_events(3, mon.events.PY_START)
    wg = gort.sync.WaitGroup()
    c, d = gort.Chan(), gort.Chan()
    for fn, args in ((ping, (c, d)), (pong, (c, d)), (sleeper, ()), (spinner, ())):
        wg.add(1)

        def run(fn=fn, args=args) -> None:  # type: ignore[no-untyped-def]
            try:
                fn(*args)
            finally:
                wg.done()
        gort.go(run)
    wg.wait()
    if HOW == "trace":
        sys.settrace(None)
    elif HOW == "profile":
        sys.setprofile(None)
    else:
        sys.monitoring.set_events(3, 0)  # type: ignore[attr-defined]
        sys.monitoring.free_tool_id(3)  # type: ignore[attr-defined]
    if errors:
        print("BAD", errors[0])
        return
    every = all(seen.get(n, 0) > 0 for n in ("ping", "pong", "sleeper", "spinner"))
    gort_frames = sorted(n for n in ("find_runnable", "park_idle", "poll", "execute")
                         if n in seen)
    print("OK", every, calls[0] > 0, gort_frames)


gort.run(main)
