"""Plain Locks made before gort was imported, reached through any expression (issue 8).

Run as a plain script: the locks below are CPython's (made before ``import gort``), kept
in a list, in dicts and behind a function, and taken as ``L[0].acquire()``,
``D["k"].acquire()``, ``with L[0]:``, ``with D[key]:`` (a local key), with a timeout,
through a call's result (``get_lock().acquire()``, ``with get_lock():``) or a
``functools.partial``. Two goroutines increment a counter under the lock, computing
inside; a goroutine preempted inside leaves the lock held, and the other then waits for
it blocking the only thread: sysmon recovers that wait (or preemption waits for the
``with`` block's end) only when it can name the lock without running code. Prints "OK"
(or the wrong count); argv[1] the form.
"""

import collections
import functools
import sys
import threading
from collections.abc import Callable

L = [threading.Lock()]
D = {"k": threading.Lock()}
KEYED = collections.defaultdict(threading.Lock)
KEYED["user"]  # made before `import gort`: plain


def _maker() -> Callable[[], threading.Lock]:
    lk = threading.Lock()
    return lambda: lk


get_lock = _maker()

import gort  # noqa: E402

HOW = sys.argv[1]
N = 300
counter = 0


def body() -> None:
    global counter
    x = counter
    for _ in range(300):
        pass
    counter = x + 1


def worker() -> None:
    key = "user"
    for _ in range(N):
        if HOW == "list":
            L[0].acquire()
            body()
            L[0].release()
        elif HOW == "dict":
            D["k"].acquire()
            body()
            D["k"].release()
        elif HOW == "timeout":
            L[0].acquire(timeout=30)
            body()
            L[0].release()
        elif HOW == "with-list":
            with L[0]:
                body()
        elif HOW == "with-local-key":
            with KEYED[key]:
                body()
        elif HOW == "call-result":
            get_lock().acquire()
            body()
            get_lock().release()
        elif HOW == "partial":
            functools.partial(get_lock().acquire)()
            body()
            get_lock().release()
        elif HOW == "with-call-result":
            with get_lock():
                body()


def main() -> None:
    wg = gort.sync.WaitGroup()
    wg.go(worker)
    wg.go(worker)
    wg.wait()
    print("OK" if counter == 2 * N else f"WRONG {counter}")


gort.run(main)
