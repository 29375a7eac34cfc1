"""Plain script (implicit runtime, or under gort run) ending with argv[1] goroutines parked."""
import sys

import gort

ch = gort.Chan()
for _ in range(int(sys.argv[1])):
    gort.go(ch.recv)
gort.sleep(0.001)
print("main done", flush=True)
