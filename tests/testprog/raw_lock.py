"""Two goroutines increment a counter under a threading.Lock created before the runtime.

The lock is not goroutine-aware: the holder, preempted inside the critical section,
leaves the other goroutine blocking the only thread in acquire. sysmon sees the M
blocked at a lock acquire while a goroutine is runnable and interrupts the wait; the
handler switches the waiter out inside the acquire so the holder runs and releases.
argv[1]: "with" (with lock:) or "acquire" (lock.acquire() / release()), or the
acquire made through CPython's C machinery, which holds nothing: "ctxlib" (a
contextlib.contextmanager: next() resumes its generator), "property" (a property's
getter), "getattr" (a class's __getattr__), "next" (a class iterator's __next__ under a
for loop). Those hung: C between the waiter's frames kept it from being switched out
inside its wait (adversarial round 12).
"""
import contextlib
import sys
import threading

LOCK = threading.Lock()  # before gort starts: a raw thread lock

import gort  # noqa: E402

N = 300
SPIN = 3000
counter = [0]


def worker_with(done):
    for _ in range(N):
        with LOCK:
            x = counter[0]
            for _ in range(SPIN):
                pass
            counter[0] = x + 1
    done.send(None)


def worker_acquire(done):
    for _ in range(N):
        LOCK.acquire()
        try:
            x = counter[0]
            for _ in range(SPIN):
                pass
            counter[0] = x + 1
        finally:
            LOCK.release()
    done.send(None)


@contextlib.contextmanager
def locked():
    LOCK.acquire()
    try:
        yield
    finally:
        LOCK.release()


class Taker:
    @property
    def prop(self):
        LOCK.acquire()
        return self

    def __getattr__(self, name):
        LOCK.acquire()
        return self

    def __iter__(self):
        return self

    def __next__(self):
        LOCK.acquire()
        return self


def critical():
    x = counter[0]
    for _ in range(SPIN):
        pass
    counter[0] = x + 1


def worker_through_c(done):
    how = sys.argv[1]
    t = Taker()
    for _ in range(N):
        if how == "ctxlib":
            with locked():
                critical()
            continue
        if how == "property":
            t.prop  # noqa: B018  (the getter takes the lock)
        elif how == "getattr":
            t.anything  # noqa: B018
        else:
            for _ in t:
                break
        try:
            critical()
        finally:
            LOCK.release()
    done.send(None)


def main():
    worker = {"with": worker_with, "acquire": worker_acquire}.get(sys.argv[1],
                                                                  worker_through_c)
    done = gort.Chan()
    gort.go(worker, done)
    gort.go(worker, done)
    done.recv()
    done.recv()
    st = gort.stats()
    print(f"counter {counter[0]} of {2 * N} lock_wait_signals {st['signals_lock_wait']} "
          f"switched_in_acquire {st['preempt_lock_wait']}")


gort.run(main)
