"""SIGUSR1 sent while goroutines spin and are preempted is handled promptly."""
import os
import signal
import time

import gort

lat = []
sent = [0.0]


def on_usr1(signum, frame):
    lat.append(time.monotonic() - sent[0])


signal.signal(signal.SIGUSR1, on_usr1)


def spin():
    while True:
        pass


for _ in range(3):
    gort.go(spin)
for _ in range(10):
    sent[0] = time.monotonic()
    os.kill(os.getpid(), signal.SIGUSR1)
    gort.sleep(0.02)
print(f"handled {len(lat)} max {max(lat) * 1000:.1f}ms async {gort.stats()['preempt_async']}")
