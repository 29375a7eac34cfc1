"""A C queue.SimpleQueue made before gort was imported, used by goroutines: the consumer
waits in get (or get with a timeout) first, the producer puts later. Its get blocked
the thread for good (the producer never ran). argv[1]: get | get-timeout. Prints OK."""
import queue
import sys

Q = queue.SimpleQueue()  # before gort: the C type

import gort  # noqa: E402

HOW = sys.argv[1]
got = []


def consumer():
    for _ in range(50):
        got.append(Q.get() if HOW == "get" else Q.get(timeout=30))  # noqa: PERF401


def producer():
    for i in range(50):
        gort.sleep(0.0002)
        Q.put(i)


def main():
    assert type(Q).__module__ == "_queue", type(Q)
    wg = gort.sync.WaitGroup()
    wg.go(consumer)
    wg.go(producer)
    wg.wait()
    print("OK" if got == list(range(50)) else f"FAIL {got}")


gort.run(main)
