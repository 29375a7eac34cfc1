"""asyncio's wake-up fd while goroutines spin under a short slice (GORT_PREEMPT_NS=200000).

gort's SIGURGs must never reach the program's wake-up fd: no "Exception
ignored ... wakeup fd" on stderr, and the socket holds only the bytes of
the program's own signals. Then asyncio's own SIGUSR1 handler still runs.
Prints: preemptions N bytes B handled H.
"""

import asyncio
import os
import signal
import time

import gort

loop = asyncio.new_event_loop()
handled = []
loop.add_signal_handler(signal.SIGUSR1, lambda: handled.append(1))
assert signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL


def spin():
    while True:
        pass


for _ in range(2):
    gort.go(spin)


def preempted():
    return gort.stats()["preempt_async"] + gort.stats()["preempt_sync"]


# 0.4 s, and on a loaded machine on until 20 preemptions (the test's floor), up to 10 s.
t0 = time.monotonic()
while time.monotonic() - t0 < 0.4 or (preempted() < 20 and time.monotonic() - t0 < 10):
    gort.sleep(0.01)
preemptions = preempted()
# What gort's SIGURGs would have left in asyncio's self-pipe: nothing.
rsock = loop._ssock
rsock.setblocking(False)
try:
    stray = len(rsock.recv(65536))
except BlockingIOError:
    stray = 0
os.kill(os.getpid(), signal.SIGUSR1)
gort.sleep(0.01)
loop.run_until_complete(asyncio.sleep(0.05))
loop.close()
assert signal.set_wakeup_fd(-1) == -1  # loop.close() removed its fd
print(f"preemptions {preemptions} bytes {stray} handled {len(handled)}")
