"""Opcode trace events under preemption (3.11: f_trace_opcodes).

argv[1]: "want" (the program's tracer sets frame.f_trace_opcodes) or "none" (it does
not). Three goroutines run work() under one sys.settrace tracer that counts each
event per goroutine and computes a little on each (so preemption requests land inside
it and the preemption hook is armed on the traced frames). Each goroutine's counts
must equal those of the same call traced in plain Python: no opcode event lost where
the program asked for them, none where it did not. Prints the counts, then OK or BAD;
on stderr whether the preemption hook was armed during the run.
"""
import sys
import threading

import gort

WANT = sys.argv[1] == "want"
N = 3000
LOCK = threading.Lock()


def work(key, n):
    total = 0
    for i in range(n):
        with LOCK:  # a request landing here arms the hook on this frame
            total += i * 3 % 7
    return total


counts: dict[str, dict[str, int]] = {}
hooked: list[bool] = []


def local(frame, event, arg):
    if WANT and not frame.f_trace_opcodes:
        # (here, not in the "call" event: 3.13 turns opcode events on only for a frame
        # that has its f_trace already)
        frame.f_trace_opcodes = True
    c = counts[frame.f_locals["key"]]
    c[event] = c.get(event, 0) + 1
    for _ in range(10):  # the tracer's own cost: requests land in here
        pass
    return local


def glob(frame, event, arg):
    if frame.f_code is not work.__code__:
        return None
    counts[frame.f_locals["key"]] = {}
    return local


def traced(key):
    work(key, N)
    return counts[key]


sys.settrace(glob)
want = traced("plain")
sys.settrace(None)


def main():
    # (the thread's tracer, set once for all three: sys.settrace is per OS thread)
    done = gort.Chan(3)
    sys.settrace(glob)
    for k in ("a", "b", "c"):
        gort.go(lambda k=k: done.send((k, traced(k))))
    got = dict(done.recv() for _ in range(3))
    sys.settrace(None)
    deferred = gort.stats()["preempt_deferred"]
    hooked.append(any(k.endswith(": hooked") for k in deferred))
    return got


got = gort.run(main)
bad = [f"{k}: {v} != {want}" for k, v in sorted(got.items()) if v != want]
print(sorted(want.items()), "opcodes" if want.get("opcode") else "no opcodes")
# (the hook was armed in the run, so the case was exercised; at a 10 ms slice not always)
print("hooked", hooked[0], file=sys.stderr)
print("OK" if not bad else "BAD " + "; ".join(bad))
sys.exit(1 if bad else 0)
