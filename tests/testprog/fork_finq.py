"""os.fork() after the finalizer goroutine started: the child counts its goroutines right
and starts its own finalizer goroutine when a collection is due."""
import os
import sys

import gort
from gort.runtime import current_sched

s = current_sched()
junk = []
for _ in range(100):
    junk.append([[] for _ in range(1000)])  # containers: a collection comes due
    gort.sleep(0)  # a scheduling round readies (first: creates) the finalizer goroutine
    if s.finq is not None and s.finq.g is not None:
        break
print("before", s.finq is not None and s.finq.g is not None)
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    n = gort.num_goroutine()
    for _ in range(100):
        junk.append([[] for _ in range(1000)])
        gort.sleep(0)
        if s.finq.g is not None:
            break
    print("child", n, s.finq.g is not None and s.finq.g.status.name != "DEAD")
    sys.stdout.flush()
    os._exit(0)
_, status = gort.offload(os.waitpid, pid, 0)
print("parent", os.waitstatus_to_exitcode(status))
