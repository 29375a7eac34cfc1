"""Three goroutines write through one BufferedWriter whose raw stream computes in write().

BufferedWriter holds its lock (owned by the thread) while it calls raw.write; a
goroutine switched out there would make the next writer fail with "reentrant call".
"""
import io

import gort


class SlowRaw(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        x = 0
        for i in range(150000):  # computes: preemption requests land in here
            x += i
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
