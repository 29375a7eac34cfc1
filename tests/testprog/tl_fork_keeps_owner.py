"""A goroutine forks while it holds an RLock and has a threading.local value (adversarial
round 4, B15). A forked thread keeps its identity: in the child the with block's exit
releases the lock and the local still reads. Open: the forking goroutine becomes the
child's main goroutine, whose identity is the thread's, so the child does not own the
RLock ("cannot release un-acquired lock") and its local values are gone. Prints the
child's two lines.
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
                msg = f"child: owner ok, local={getattr(loc, 'v', None)}"
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
