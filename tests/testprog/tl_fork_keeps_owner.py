"""A goroutine forks while it holds an RLock and has a threading.local value (adversarial
round 4, B15). A forked thread keeps its identity: in the child the with block's exit
releases the lock and the local still reads. The forking goroutine becomes the
child's main goroutine; with the thread's identity (before the fix) the child did not
own the RLock ("cannot release un-acquired lock") and its local values were gone.
Prints the child's two lines.
"""
import os
import threading

import gort
from gort.sync import WaitGroup

rl = threading.RLock()
loc = threading.local()


def g() -> None:
    loc.v = "mine"
    with rl:
        pid = os.fork()
        if pid == 0:
            try:
                rl.release()
                rl.acquire()
                other: list[bool] = []  # a goroutine of the child's cannot enter it
                wg2 = WaitGroup()
                wg2.go(lambda: other.append(rl.acquire(blocking=False)))
                wg2.wait()
                msg = f"child: owner ok, local={getattr(loc, 'v', None)}, other={other}"
            except Exception as e:
                msg = f"child: {e!r}"
            print(msg, flush=True)
    if pid == 0:
        print("child after with:", "OK" if getattr(loc, "v", None) == "mine" else "BAD local",
              flush=True)
        os._exit(0)
    os.waitpid(pid, 0)


def main() -> None:
    wg = WaitGroup()
    wg.go(g)
    wg.wait()


gort.run(main)
