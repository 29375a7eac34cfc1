"""A signal handler calling gort while the runtime starts (issue 9: start reentrancy).

argv[1]: ``implicit`` (the script's first gort call starts the runtime) or ``run``
(gort.run); argv[2]: where the SIGALRM handler runs: ``schedinit`` (under the start
lock: re-entering the start deadlocked) or ``services`` (the runtime registered but no
goroutine running: "called outside any goroutine" failed the start before).
The handler does a non-blocking send (completed against the channel's buffer) and a
blocking receive (a clear error: nothing can wait there).
"""

import signal
import sys

import gort
import gort.runtime.proc as proc
import gort.runtime.rt0 as rt0

how, where = sys.argv[1], sys.argv[2]
ch: gort.Chan[str] = gort.Chan(1)
seen: list[str] = []


def on_alarm(signum: int, frame: object) -> None:
    i, _ = gort.select((ch.send, "tick"), gort.default)
    seen.append(f"send case {i}")
    try:
        gort.Chan().recv()
    except RuntimeError as e:
        seen.append(f"{type(e).__name__}: {'while the runtime is starting' in str(e)}")


signal.signal(signal.SIGALRM, on_alarm)


def with_signal(fn):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        signal.raise_signal(signal.SIGALRM)  # the handler runs before this returns
        return fn(*args, **kwargs)
    return wrapper


if where == "schedinit":
    proc.read_env = with_signal(proc.read_env)  # called under proc._start_lock
else:
    rt0.start_services = with_signal(rt0.start_services)


def main() -> None:
    got = ch.recv()
    print(seen, got)


if how == "run":
    gort.run(main)
else:
    main()
print("ends")
