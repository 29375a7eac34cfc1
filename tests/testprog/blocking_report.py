"""A goroutine blocks the M in time.sleep while another could run: reported once."""
import time

import gort


def blocker(done):
    for _ in range(3):
        time.sleep(0.2)  # one call site, three long blocks (20 slices each): one report
    done.send(None)


def spinner():
    while True:
        pass


done = gort.Chan()
gort.go(spinner)
gort.go(blocker, done)
done.recv()
print("reports", gort.stats()["blocked_reports"])
