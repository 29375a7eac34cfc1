"""Go's graceful shutdown: workers run until SIGINT or SIGTERM, then finish their item.

gort.signal.notify relays the signals into a buffered channel (no
KeyboardInterrupt, no sudden death); main receives one, closes ``quit`` and
waits for every worker to finish what it was doing.

    gort run examples/graceful_shutdown.py      # then press Ctrl-C
    gort run examples/graceful_shutdown.py 0.2  # sends itself SIGTERM after 0.2 s
"""

import os
import signal
import sys
import threading

import gort
from gort.sync import WaitGroup


def worker(n: int, quit_: gort.Chan[None], wg: WaitGroup, done: list[int]) -> None:
    try:
        items = 0
        while True:
            i, _ = gort.select(quit_.recv, gort.default)
            if i == 0:
                break
            gort.sleep(0.01)  # one item of work
            items += 1
        done[n] = items
    finally:
        wg.done()


def main() -> None:
    sigs: gort.Chan[signal.Signals] = gort.Chan(1)
    gort.signal.notify(sigs, signal.SIGINT, signal.SIGTERM)
    quit_: gort.Chan[None] = gort.Chan()
    wg = WaitGroup()
    done = [0] * 4
    for n in range(4):
        wg.add(1)
        gort.go(worker, n, quit_, wg, done)
    if len(sys.argv) > 1:
        threading.Timer(float(sys.argv[1]), os.kill, (os.getpid(), signal.SIGTERM)).start()
    else:
        print("working; press Ctrl-C to stop", flush=True)
    sig = sigs.recv()
    assert sig is not None
    quit_.close()
    wg.wait()
    print(f"got {sig.name}; 4 workers stopped after {sum(done)} items")


main()
