"""Spinning goroutines; the test sends SIGINT and expects exit 130."""

import gort


def spin():
    while True:
        pass


for _ in range(3):
    gort.go(spin)
print("READY", flush=True)
while True:
    pass
