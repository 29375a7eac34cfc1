"""SIGALRM's handler raises while main is parked in recv and another goroutine sleeps.

The exception is raised in main; the receive it interrupted leaves nothing
queued, so the values sent afterwards arrive (printed: alarm x y).
"""

import signal

import gort


class Alarm(Exception):
    pass


def handler(signum, frame):
    raise Alarm("alarm")


def main():
    ch = gort.Chan()

    def sleeper():
        gort.sleep(0.2)
        ch.send("x")
        ch.send("y")

    gort.go(sleeper)
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    try:
        ch.recv()
    except Alarm as e:
        print(e)
    print(ch.recv())
    print(ch.recv())


gort.run(main)
