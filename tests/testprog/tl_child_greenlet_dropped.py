"""A goroutine parks on a contended Lock inside a child greenlet it made; the child then
suspends itself (switches to its parent) and the goroutine drops it (adversarial round 4,
B7). Plain greenlet: a dropped suspended greenlet is killed at once (GreenletExit: its
finally runs). Before: the scheduler frame of the goroutine that released the Lock (it
finished and waits on the free list) still held the child from its switch call, so the
child was never freed and its finally never ran. Prints the log, then OK or BAD.
"""
import gc
import threading
import weakref

import greenlet

import gort
from gort.sync import WaitGroup

lk = threading.Lock()
log: list[object] = []


def child() -> None:
    with lk:  # contended: the goroutine parks inside the child
        pass
    try:
        v = greenlet.getcurrent().parent.switch("suspended")
        log.append(("child resumed!", v))
    finally:
        log.append("child finally")


def holder() -> None:
    with lk:
        gort.sleep(0.02)


def g() -> None:
    c = greenlet.greenlet(child)
    log.append(("goroutine got", c.switch()))
    for _ in range(20):
        gort.sleep(0.001)
    w = weakref.ref(c)
    del c
    gc.collect()
    log.append(("dropped; child", "alive" if w() is not None else "gone"))


def main() -> None:
    gort.go(holder)
    gort.sleep(0.001)
    wg = WaitGroup()
    wg.go(g)
    wg.wait()
    print(log)
    print("OK" if log == [("goroutine got", "suspended"), "child finally",
                          ("dropped; child", "gone")] else "BAD")


gort.run(main)
