"""SIGALRM's handler raises while main is parked in recv and another goroutine sleeps.

Runs under `gort run` and as plain `python` (the implicit runtime), with
``--run`` inside ``gort.run(main)``. The exception is raised in main; the receive it
interrupted leaves nothing queued, so the values sent afterwards arrive.
Prints: alarm x y.
"""

import signal
import sys

import gort


class Alarm(Exception):
    pass


def handler(signum, frame):
    raise Alarm("alarm")


ch = gort.Chan()


def sleeper():
    gort.sleep(0.2)
    ch.send("x")
    ch.send("y")


def main():
    gort.go(sleeper)
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    try:
        ch.recv()
    except Alarm as e:
        print(e)
    print(ch.recv())
    print(ch.recv())


if "--run" in sys.argv:
    gort.run(main)  # main as the run's goroutine 1 (hosted under `gort run`)
else:
    main()  # the top level is the main goroutine (implicit runtime, or `gort run`)
