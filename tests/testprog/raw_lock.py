"""Two goroutines increment a counter under a threading.Lock created before the runtime.

The lock is not goroutine-aware: the holder, preempted inside the critical section,
leaves the other goroutine blocking the only thread in acquire. sysmon sees the M
blocked at a lock acquire while a goroutine is runnable and interrupts the wait; the
handler switches the waiter out inside the acquire so the holder runs and releases.
argv[1]: "with" (with lock:) or "acquire" (lock.acquire() / release()).
"""
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


def main():
    worker = worker_with if sys.argv[1] == "with" else worker_acquire
    done = gort.Chan()
    gort.go(worker, done)
    gort.go(worker, done)
    done.recv()
    done.recv()
    st = gort.stats()
    print(f"counter {counter[0]} of {2 * N} lock_wait_signals {st['signals_lock_wait']} "
          f"switched_in_acquire {st['preempt_lock_wait']}")


gort.run(main)
