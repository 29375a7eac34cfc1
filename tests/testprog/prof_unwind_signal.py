"""A signal handler raising in main while main's profile function runs for a frame that
is unwinding another exception (adversarial round 7: exc_mix.py under sys.setprofile
lost an Alarm in 1 run of 8). CPython drops the exception in flight when a profile
function raises; the handler's exception is raised at main's next safe point instead, so
both are caught, in order. usage: prof_unwind_signal.py [gort]  (gort: the profile
function also calls gort, a safe point inside the callback)"""
import signal
import sys

import gort


class Alarm(Exception):
    pass


def on_usr1(signum, frame):
    raise Alarm()


def fails():
    raise ValueError("in flight")


ch = gort.Chan(1)


def prof(frame, event, arg):
    if event == "return" and frame.f_code is fails.__code__:
        signal.raise_signal(signal.SIGUSR1)  # its handler runs at this call's end
        if len(sys.argv) > 1:
            gort.select((ch.send, 1), gort.default)
            gort.select(ch.recv, gort.default)


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    caught = []
    for _ in range(3):
        sys.setprofile(prof)
        try:
            try:
                fails()
            finally:
                sys.setprofile(None)
        except (ValueError, Alarm) as e:
            caught.append(type(e).__name__)
        try:
            gort.sleep(0)
        except Alarm:
            caught.append("Alarm")
    print(caught)


gort.run(main)
