"""A goroutine abandoned while parked in gort.offload(fn, *args), its call still running,
is released at gort.run's return; later collections must find the heap intact.

Before (CPython 3.13): releasing it read the value stack of the goroutine's
``gort.offload`` frame, suspended in CALL_FUNCTION_EX, whose argument tuple and keyword
dict 3.13 had already freed (an inlined call): a segfault at a later collection.
"""

import gc
import threading
import time

import gort
import gort.runtime as rt

offloaders = []


def main() -> None:
    gort.go(gort.offload, time.sleep, 0.05)
    gort.go(gort.offload, lambda *a, **k: time.sleep(0.05), 1, 2, k=3)
    gort.sleep(0.01)  # both calls running when main returns
    offloaders.append(rt.current_sched().offloader)


for _ in range(3):
    gort.run(main)
    deadline = time.monotonic() + 10
    while offloaders[-1].nthreads and time.monotonic() < deadline:
        time.sleep(0.01)
    threads = [threading.Thread(target=time.sleep, args=(0.001,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    garbage = [(i, [i]) for i in range(10000)]
    gc.collect()
print("ok")
