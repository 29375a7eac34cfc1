"""1000 goroutines doing random channel work while 4 spin; every message accounted for.

Senders keep sending until the runtime has made MIN_PREEMPT preemptions (run
with a short GORT_PREEMPT_NS), then the channels are drained and the sums
compared: every value sent was received exactly once.
"""
import random
import sys
import time

import gort
from gort.sync import WaitGroup

WORKERS = 1000
CHANS = 16
MIN_PREEMPT = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
DEADLINE_S = 25.0

chans = [gort.Chan(random.choice([0, 1, 2, 10])) for _ in range(CHANS)]
quit_ = gort.Chan()
sent = [0, 0]  # sum, count
received = [0, 0]
stop_senders = [False]
stop_spinners = [False]
spins = [0] * 4


def spinner(i):
    n = 0
    while not stop_spinners[0]:
        n += 1
    spins[i] = n


def sender(seed, wg):
    rnd = random.Random(seed)
    k = 0
    while not stop_senders[0]:
        v = seed * 1_000_000 + k
        k += 1
        c = chans[rnd.randrange(CHANS)]
        if rnd.random() < 0.5:
            c.send(v)
        else:
            other = chans[rnd.randrange(CHANS)]
            while gort.select((c.send, v), (other.send, v), gort.default)[0] == 2:
                gort.sleep(0)
        sent[0] += v
        sent[1] += 1
        x = 0
        for j in range(rnd.randrange(2000)):  # compute without a scheduling point
            x += j
    wg.done()


def receiver(i, wg):
    rnd = random.Random(-i)
    while True:
        cases = [c.recv_ok for c in rnd.sample(chans, 3)]
        idx, val = gort.select(*cases, quit_.recv_ok, gort.after(0.01).recv)
        if idx == 3:
            break
        if idx == 4:
            continue  # timed out: look at three other channels
        v, ok = val
        assert ok, "data channels are never closed"
        received[0] += v
        received[1] += 1
    wg.done()


t0 = time.monotonic()
for i in range(4):
    gort.go(spinner, i)
senders, receivers = WaitGroup(), WaitGroup()
for i in range(WORKERS // 2):
    senders.add(1)
    gort.go(sender, i + 1, senders)
    receivers.add(1)
    gort.go(receiver, i, receivers)
while time.monotonic() - t0 < DEADLINE_S:
    st = gort.stats()
    if st["preempt_async"] + st["preempt_sync"] >= MIN_PREEMPT:
        break
    gort.sleep(0.05)
stop_senders[0] = True
# Receivers keep receiving until every sender has finished its last send.
senders.wait()
quit_.close()
receivers.wait()
for c in chans:  # what is still buffered
    while True:
        idx, val = gort.select(c.recv_ok, gort.default)
        if idx == 1:
            break
        received[0] += val[0]
        received[1] += 1
stop_spinners[0] = True
gort.sleep(0.05)
st = gort.stats()
print(f"sent {sent[1]} received {received[1]} preemptions "
      f"{st['preempt_async'] + st['preempt_sync']} (async {st['preempt_async']}) "
      f"in {time.monotonic() - t0:.1f}s")
assert sent == received, (sent, received)
assert min(spins) > 0, spins
assert st["preempt_async"] + st["preempt_sync"] >= MIN_PREEMPT, st
print("OK")
