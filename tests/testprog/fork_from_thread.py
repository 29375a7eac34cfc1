"""os.fork() from a thread that runs no goroutines (an offloaded call; multiprocessing's
pool handler forking a replacement worker): the child tears the runtime down, and must
not wait for the sysmon thread it does not have (it waited 5 s). Prints the child's
start-up time class and the child's status."""
import os
import time

import gort


def forker() -> str:
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if time.monotonic() - t0 < 2.0 else 1)
    _, status = os.waitpid(pid, 0)
    return f"child status {os.waitstatus_to_exitcode(status)}"


def main() -> None:
    gort.go(lambda: None)
    print(gort.offload(forker))


gort.run(main)
