"""Spinning inside queue.Queue producer/consumer code and logging calls."""
import logging
import queue
import sys

import gort
from gort.sync import WaitGroup

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
log = logging.getLogger("hazard")


class SlowHandler(logging.Handler):
    """A handler that computes while the logging lock is held."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def emit(self, record):
        x = 0
        for i in range(300):
            x += i
        self.n += 1


handler = SlowHandler()
log.addHandler(handler)
log.propagate = False
q = queue.Queue(maxsize=8)
total = [0]
stop = [False]


def spin():
    while not stop[0]:
        pass


# queue.Queue's blocking calls would block the OS thread, and so every goroutine;
# a goroutine yields instead when the queue is full or empty. The queue's own
# mutex and the logging lock are still taken under heavy preemption.
def producer(base):
    for i in range(N):
        while True:
            try:
                q.put(base + i, block=False)
                break
            except queue.Full:
                gort.gosched()
        log.info("put %d", base + i)


def consumer(wg):
    for _ in range(2 * N):
        while True:
            try:
                item = q.get(block=False)
                break
            except queue.Empty:
                gort.gosched()
        total[0] += item
        log.info("got")
    wg.done()


for _ in range(2):
    gort.go(spin)
wg = WaitGroup()
wg.add(1)
gort.go(producer, 0)
gort.go(producer, 100000)
gort.go(consumer, wg)
wg.wait()
stop[0] = True
expect = sum(range(N)) + sum(range(100000, 100000 + N))
print(f"total {total[0]} expect {expect} logged {handler.n}")
assert total[0] == expect and handler.n == 4 * N
print("deferred", gort.stats()["preempt_deferred"], file=sys.stderr)
print("OK")
