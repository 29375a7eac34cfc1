"""The program's trace function sees under gort what it sees without it.

Four tracers, each recording (event, function, line) for a small workload: a plain
function returning itself, a bound method (bdb returns a new one per event), one that
returns a fresh closure per frame and None for frames named "skip", and one that raises
at its tenth event (CPython then drops it: sys.gettrace() is None after). Each runs once
in plain Python and once inside a goroutine; the records must be equal. Also checked:
sys.gettrace() returns the program's function (never a wrapper), the thread's function
after the run is the program's own, and sys.settrace/sys.gettrace are CPython's again.
Prints one line per tracer, then OK; else BAD and the difference.
"""
import sys

import gort

REAL = (sys.settrace, sys.gettrace)


def skip(n):
    return n * 2


def work(n):
    total = 0
    for i in range(n):
        total += skip(i)
    return total


class Recorder:
    def __init__(self, kind):
        self.kind = kind
        self.events = []

    def plain(self):
        def fn(frame, event, arg):
            self.events.append((event, frame.f_code.co_name, frame.f_lineno))
            return fn
        return fn

    def method(self, frame, event, arg):
        self.events.append((event, frame.f_code.co_name, frame.f_lineno))
        return self.method

    def closures(self):
        def glob(frame, event, arg):
            self.events.append(("global", event, frame.f_code.co_name))
            if frame.f_code.co_name == "skip":
                return None

            def local(frame, event, arg):
                self.events.append((event, frame.f_code.co_name, frame.f_lineno))
                return local
            return local
        return glob

    def raising(self):
        def fn(frame, event, arg):
            self.events.append((event, frame.f_code.co_name, frame.f_lineno))
            if len(self.events) == 10:
                raise LookupError("tracer gave up")
            return fn
        return fn

    def tracer(self):
        return {"plain": self.plain, "closures": self.closures,
                "raising": self.raising}.get(self.kind, lambda: self.method)()


def traced_run(kind):
    rec = Recorder(kind)
    fn = rec.tracer()
    sys.settrace(fn)
    same = sys.gettrace() == fn
    err = None
    try:
        work(5)
    except LookupError as e:
        err = str(e)
    after = sys.gettrace()
    sys.settrace(None)
    return rec.events, same, err, after is None


def main():
    results = {}
    for kind in ("plain", "method", "closures", "raising"):
        ch = gort.Chan(1)
        gort.go(lambda k=kind, c=ch: c.send(traced_run(k)))
        results[kind] = ch.recv()
    return results


bad = []
inside = gort.run(main)
for kind, got in inside.items():
    want = traced_run(kind)
    if got != want:
        bad.append(f"{kind}: {got} != {want}")
    print(kind, len(got[0]), got[1:])
sys.settrace(lambda *a: None)
fn = sys.gettrace()
gort.run(lambda: None)
if sys.gettrace() is not fn:
    bad.append(f"after a run: {sys.gettrace()!r} is not the program's {fn!r}")
sys.settrace(None)
if (sys.settrace, sys.gettrace) != REAL:
    bad.append("sys.settrace/sys.gettrace not given back")
print("OK" if not bad else "BAD " + "; ".join(bad))
sys.exit(1 if bad else 0)
