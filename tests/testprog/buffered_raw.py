"""Three goroutines write through one BufferedWriter whose raw stream computes in write().

BufferedWriter holds its lock (owned by the thread) while it calls raw.write; a
goroutine switched out there would make the next writer fail with "reentrant call".

argv[1] "greenlet": write() computes inside a greenlet it makes and switches to (as a
greenlet-based library would); the C between is then below that greenlet's first frame,
in the goroutine's own greenlet (adversarial round 6, R1: reentered 2 runs in 3).
"""
import io
import sys

import greenlet

import gort

IN_GREENLET = sys.argv[1:] == ["greenlet"]


def compute():
    x = 0
    for i in range(150000):  # computes: preemption requests land in here
        x += i
    return x


class SlowRaw(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        if IN_GREENLET:
            greenlet.greenlet(compute).switch()
        else:
            compute()
        self.data += bytes(b)
        return len(b)


raw = SlowRaw()
w = io.BufferedWriter(raw, buffer_size=16)
errors = []
wg = gort.sync.WaitGroup()


def writer(tag):
    try:
        for _ in range(8):
            w.write(tag * 10)
    except RuntimeError as e:
        errors.append(repr(e))
    finally:
        wg.done()


for tag in (b"a", b"b", b"c"):
    wg.add(1)
    gort.go(writer, tag)
wg.wait()
w.flush()
counts = {t: raw.data.count(t) for t in (b"a", b"b", b"c")}
print(f"bytes {len(raw.data)} counts {sorted(counts.values())} errors {errors}")
