"""GC-heavy stress (issue 9): finalizers doing non-blocking sends while 100 goroutines
exchange checksummed messages, under whatever slice GORT_PREEMPT_NS sets.

    python -m gort run tests/testprog/fin_stress.py --seconds 20 --seed 7

50 producer/consumer pairs over channels of seeded random capacities (0-3);
each message carries its sequence number and a CRC of its payload. Every
message is wrapped, before sending, in a self-referencing object holding a
token from a shared pool; its __del__ returns the token with a non-blocking
send (select with default), so tokens come back only through the cyclic
collector, i.e. the finalizer goroutine. At the end: every message arrived
once, in order, intact; every token is back; no finalizer raised. Prints OK.
The same seed replays the same sizes, payloads and choices.
"""

import argparse
import gc
import os
import random
import sys
import time
import zlib

import gort
import gort.runtime

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=float(os.environ.get("GORT_STRESS_S", "2")))
ap.add_argument("--seed", type=int, default=int(os.environ.get("GORT_SEED", "1")))
opts = ap.parse_args()
print(f"seed={opts.seed} seconds={opts.seconds}", flush=True)
rng = random.Random(opts.seed)

PAIRS = 50
TOKENS = 64
pool: gort.Chan[int] = gort.Chan(TOKENS)
for t in range(TOKENS):
    pool.send(t)
lost = 0
errors: list[str] = []
sys.unraisablehook = lambda u: errors.append(f"{u.exc_type.__name__}: {u.exc_value}")


class Wrapped:
    __slots__ = ("__weakref__", "me", "tok")

    def __init__(self, tok: int) -> None:
        self.tok = tok
        self.me = self

    def __del__(self) -> None:
        global lost
        i, _ = gort.select((pool.send, self.tok), gort.default)
        if i == 1:
            lost += 1


def junk() -> None:
    for _ in range(20):
        x: list[object] = []
        x.append(x)


def take_token() -> int:
    while True:
        i, tok = gort.select(pool.recv, gort.default)
        if i == 0:
            return int(tok)
        junk()  # every token is in garbage: make more, and a collection comes due
        gort.sleep(0)


deadline = time.monotonic() + opts.seconds
sent = [0] * PAIRS
received = [0] * PAIRS
bad: list[str] = []
wg = gort.sync.WaitGroup()


def producer(k: int, ch: gort.Chan[tuple[int, bytes, int]], seed: int) -> None:
    r = random.Random(seed)
    n = 0
    while time.monotonic() < deadline:
        payload = r.randbytes(r.randrange(1, 64))
        Wrapped(take_token())  # garbage at once: its token comes back via the collector
        ch.send((n, payload, zlib.crc32(payload)))
        n += 1
        if r.random() < 0.2:
            gort.sleep(0)
    sent[k] = n
    ch.close()
    wg.done()


def consumer(k: int, ch: gort.Chan[tuple[int, bytes, int]]) -> None:
    expect = 0
    for n, payload, crc in ch:
        if n != expect or zlib.crc32(payload) != crc:
            bad.append(f"pair {k}: got #{n} (crc ok: {zlib.crc32(payload) == crc}), "
                       f"expected #{expect}")
        expect = n + 1
    received[k] = expect
    wg.done()


for k in range(PAIRS):
    ch: gort.Chan[tuple[int, bytes, int]] = gort.Chan(rng.randrange(4))
    wg.add(2)
    gort.go(consumer, k, ch)
    gort.go(producer, k, ch, rng.randrange(1 << 30))
wg.wait()
end = time.monotonic() + 1
while len(pool) < TOKENS and time.monotonic() < end:
    junk()
    gort.sleep(0.001)
# Garbage promoted to generation 2 (a Wrapped still alive at a collection: its producer
# was preempted between creating and dropping it) waits for a full collection, which
# CPython's heuristic may not run yet; collect it here, in this goroutine.
late = TOKENS - len(pool)
gc.collect()
total = sum(sent)
s = gort.runtime.running()
print(f"messages={total} received={sum(received)} pool={len(pool)}/{TOKENS} lost={lost} "
      f"errors={len(errors)} bad={len(bad)} late={late} "
      f"collections={s.finq.collections if s else None}")
for line in (bad + errors)[:5]:
    print(line)
ok = sent == received and not bad and len(pool) == TOKENS and lost == 0 and not errors
print("OK" if ok and total > 0 else "FAIL")
sys.exit(0 if ok else 1)
