"""The script's top level (goroutine 1) raises argv[1] while another goroutine runs."""
import sys

import gort


def worker():
    while True:
        gort.sleep(0.01)


gort.go(worker)
gort.sleep(0.02)
if sys.argv[1] == "KeyboardInterrupt":
    raise KeyboardInterrupt
raise ValueError("top level")
