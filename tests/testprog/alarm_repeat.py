"""A repeating ITIMER_REAL and deadlock detection (issue 9).

argv[1], the mode:
- ``count``: the SIGALRM handler only counts ticks (every 10 ms) while main
  waits on a channel nobody sends on: a deadlock, reported once the ticks
  have woken nobody for the horizon (before: the process hung, the timer
  counting as a wake-up to come forever).
- ``raise``: the handler raises Timeout at its fifth tick (a watchdog): main's
  blocking receive raises it, though the four ticks before woke nobody. (Counted, not
  timed: on a loaded machine the ticks of 0.1 s coalesced into three deliveries.)
- ``wake``: the handler hands each tick to main with a non-blocking send; main
  takes five, then stops the timer and ends: no false deadlock.
- ``notify``: a gort.signal.notify channel for SIGUSR1 that nobody receives
  from, main waiting on another channel: a deadlock, reported (before: a
  registered channel kept every program alive).
"""

import signal
import sys
import time

import gort
import gort.runtime.proc

# The horizon (10 s) within which an alarm counts as a wake-up to come, shortened.
gort.runtime.proc.ALARM_HORIZON_S = 0.5

mode = sys.argv[1]
ticks = 0


class Timeout(Exception):
    pass


tick_ch: gort.Chan[int] = gort.Chan(1)


def on_alarm(signum: int, frame: object) -> None:
    global ticks
    ticks += 1
    if mode == "raise" and ticks == 5:
        raise Timeout
    if mode == "wake":
        gort.select((tick_ch.send, ticks), gort.default)


if mode == "notify":
    sigs: gort.Chan[signal.Signals] = gort.Chan(1)
    gort.signal.notify(sigs, signal.SIGUSR1)
    gort.Chan().recv()
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
t0 = time.monotonic()
if mode == "count":
    gort.Chan().recv()
elif mode == "raise":
    try:
        gort.Chan().recv()
    except Timeout:
        signal.setitimer(signal.ITIMER_REAL, 0)  # a raising handler must not outlive main
        # Five deliveries of a 10 ms timer: four intervals at least.
        print(f"timeout at tick {ticks} after >= 0.04 s {time.monotonic() - t0 >= 0.04}")
elif mode == "wake":
    got = [tick_ch.recv() for _ in range(5)]
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"woken {len(got)} times, increasing {got == sorted(got)}")
