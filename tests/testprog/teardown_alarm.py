"""A SIGALRM handler that raises, with a 200 us interval timer, across many short runs
(issue 9 adversarial pass): the handler landed inside gort.run's teardown after the
program's handlers were back, leaving the wake-up fd at gort's closed pipe and the
netpoller's descriptors open. Prints how many runs left either behind."""
import os
import signal

import gort


class Alarm(Exception):
    pass


armed = [False]


def h(signum, frame):
    if armed[0]:
        armed[0] = False
        raise Alarm()


def main():
    gort.sleep(0.001)
    armed[0] = True


signal.signal(signal.SIGALRM, h)
fds0 = len(os.listdir("/proc/self/fd"))
left = 0
for _ in range(150):
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        gort.run(main)
    except Alarm:
        pass
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        armed[0] = False
    except Alarm:
        pass
    if signal.set_wakeup_fd(-1) != -1:
        left += 1
print("wakeup fds left", left, "fds grew", len(os.listdir("/proc/self/fd")) - fds0)
