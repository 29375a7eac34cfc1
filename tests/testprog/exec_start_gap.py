"""Child starts that take 0.4 s each (a wrapped _posixsubprocess.fork_exec blocks its
thread first), four at once from goroutines, next to a 10 ms ticker: print JSON with the
ticker's longest gap, the starts' total time, the children's statuses, the threads seen,
and the exception a failed exec raises. argv[1]: "exec" (gort.exec) or "subprocess"
(subprocess.run, under `gort run --net`)."""

import json
import os
import select
import subprocess
import sys
import tempfile
import time

import gort
import gort.exec as gexec

SLOW_S = 0.4
_fork_exec = subprocess._fork_exec  # type: ignore[attr-defined]


def slow_fork_exec(*args: object) -> int:
    ep = select.epoll()  # (not patched: blocks whichever thread calls it)
    try:
        ep.poll(SLOW_S)
    finally:
        ep.close()
    return _fork_exec(*args)  # type: ignore[no-any-return]


subprocess._fork_exec = slow_fork_exec  # type: ignore[attr-defined]

how = sys.argv[1]
gaps: list[float] = []
threads = [0]


def ticker() -> None:
    t = gort.Ticker(0.01)
    last = time.monotonic()
    while True:
        t.c.recv()
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        threads[0] = max(threads[0], len(os.listdir("/proc/self/task")))


def start(i: int, out: dict[int, object]) -> None:
    if how == "exec":
        try:
            gexec.command("sh", "-c", f"exit {i}").run()
            out[i] = 0
        except gexec.ExitError as e:
            out[i] = e.exit_code
    else:
        out[i] = subprocess.run(["sh", "-c", f"exit {i}"]).returncode


def failed_exec() -> list[object]:
    with tempfile.NamedTemporaryFile(suffix=".sh") as f:  # not executable
        try:
            if how == "exec":
                gexec.command(f.name).run()
            else:
                subprocess.run([f.name])
        except OSError as e:
            return [type(e).__name__, e.errno, e.filename == f.name]
    return ["no error"]


gort.go(ticker)
gort.sleep(0.05)
out: dict[int, object] = {}
t0 = time.monotonic()
wg = gort.sync.WaitGroup()
for i in range(4):
    wg.go(start, i, out)
wg.wait()
total = time.monotonic() - t0
gort.sleep(0.03)
print(json.dumps({"max_gap": max(gaps), "total": total, "out": [out[i] for i in range(4)],
                  "threads": threads[0], "failed": failed_exec()}))
