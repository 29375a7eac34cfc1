"""A ThreadPoolExecutor made before the runtime starts, mapped over from 8 goroutines.

submit holds the executor's plain (pre-run) locks across Thread.start, which parks the
goroutine until the new thread runs; the next goroutine then blocks the M on those
locks. sysmon's lock-wait recovery switches the waiter out; on 3.11 it was refused
because ``self.submit(fn, *args)`` (CALL_FUNCTION_EX) looked like C between frames.
"""
import concurrent.futures
import time

import gort
import gort.sync

ex = concurrent.futures.ThreadPoolExecutor(4)


def work(i):
    time.sleep(0.001)
    return i * i


def main():
    out = []
    wg = gort.sync.WaitGroup()
    for k in range(8):
        wg.go(lambda k=k: out.append(sum(ex.map(work, range(k, k + 5)))))
    wg.wait()
    print(sorted(out))


gort.run(main)
ex.shutdown()
