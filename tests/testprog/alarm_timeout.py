"""The classic timeout idiom: a raising SIGALRM handler, setitimer, then a blocking receive.

CPython raises Timeout in the waiting main thread after 0.2 s; gort once reported a
deadlock at once (only gort.signal channels counted as a wake-up to come).
"""
import signal
import time

import gort


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout


signal.signal(signal.SIGALRM, on_alarm)
t = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.2)
try:
    gort.Chan().recv()
except Timeout:
    print(f"timed out after_0.2s {time.monotonic() - t >= 0.19}")
