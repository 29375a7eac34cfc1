"""Ctrl-C while every goroutine sleeps: the M idles in the netpoller when SIGINT comes.

The handler (CPython's default_int_handler) runs in gort's handler goroutine
and its KeyboardInterrupt goes to main, parked in sleep: exit 130.
"""

import gort


def sleeper():
    gort.sleep(60)


gort.go(sleeper)
print("READY", flush=True)
gort.sleep(60)
