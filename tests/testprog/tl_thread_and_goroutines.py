"""An RLock shared by an OS thread and goroutines (adversarial round 4, B1).

argv[1]: rlock (a thread and 2 goroutines, `with rl: count += 1` N times each),
logging (a thread and 3 goroutines logging N lines each through one handler, whose
lock is an RLock), condition (a producer thread and 3 consumer goroutines on one
threading.Condition, an RLock inside). Prints the total and OK.

Before, checkdead reported "all goroutines are asleep - deadlock!" while the thread
was alive in the RLock's window with no owner recorded (between its unlock and its
hand-off to a goroutine that queued meanwhile, where the GIL passes to the M): 5 runs
in 5 with logging, 1 in 3 to 3 in 3 with the others.
"""
import io
import logging
import sys
import threading

import gort
from gort.sync import WaitGroup

HOW = sys.argv[1]
N = 3000
rl = threading.RLock()
count = 0


def count_body(_k: object) -> None:
    global count
    for _ in range(N):
        with rl:
            x = count
            for _ in range(30):
                pass
            count = x + 1


buf = io.StringIO()
log = logging.getLogger("tl_thread_and_goroutines")
log.addHandler(logging.StreamHandler(buf))
log.setLevel(logging.INFO)
log.propagate = False


def log_body(k: object) -> None:
    for i in range(N):
        log.info("line %s %s", k, i)


cond = threading.Condition()
items: list[int] = []
got: list[int] = []


def producer(_k: object) -> None:
    for i in range(N):
        with cond:
            items.append(i)
            cond.notify()


def consumer(_k: object) -> None:
    while True:
        with cond:
            while not items:
                if len(got) >= N:
                    return
                cond.wait(0.01)
            got.append(items.pop())
            if len(got) >= N:
                cond.notify_all()
                return


def main() -> None:
    thread_fn, g_fn, ngo = {"rlock": (count_body, count_body, 2),
                            "logging": (log_body, log_body, 3),
                            "condition": (producer, consumer, 3)}[HOW]
    t = threading.Thread(target=thread_fn, args=("T",))
    t.start()
    wg = WaitGroup()
    for k in range(ngo):
        wg.go(g_fn, k)
    wg.wait()
    gort.offload(t.join)
    total, want = {"rlock": (count, 3 * N),
                   "logging": (buf.getvalue().count("\n"), 4 * N),
                   "condition": (len(got), N)}[HOW]
    print(total, "OK" if total == want else f"BAD (want {want})")


gort.run(main)
