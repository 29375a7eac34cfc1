"""A non-main goroutine raises argv[1] (an uncaught Ctrl-C, or a panic) while main waits."""
import sys

import gort


def worker():
    gort.sleep(0.01)
    if sys.argv[1] == "KeyboardInterrupt":
        raise KeyboardInterrupt
    raise LookupError("from a goroutine")


print("before", flush=True)
gort.go(worker)
try:
    gort.Chan().recv()
finally:
    print("main's finally ran")  # never: the program ends without resuming main
