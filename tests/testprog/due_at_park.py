"""A goroutine whose every sleep outlasts its timer, beside four spinners.

Main sleeps 1 us two hundred times; each sleep first spends 2 ms in the program's
own code called by gort.sleep (a float subclass's __mul__, as a costly trace
function spends it on gort.sleep's lines): by the time main parks, its timer is
due, so the same scheduling round readies it again. sysmon's requests to end its
slice all land inside that call, where no safe point is, and the park's switch
cleared them: before proc.slice_over_at_park, the spinners never started in 5 runs
of 8 (4 s, 2,000 sleeps). Prints how many sleeps main made before every spinner had
run (at most about one slice's worth: 10 ms / 2 ms, plus the spinners' turns).
"""
import time

import gort


class Slow(float):
    def __mul__(self, k):
        t = time.perf_counter()
        while time.perf_counter() - t < 0.002:
            pass
        return float(self) * k


def spin(i, stop, counts):
    while not stop:
        counts[i] += 1


def main():
    stop, counts = [], [0] * 4
    for i in range(4):
        gort.go(spin, i, stop, counts)
    n = 0
    while not all(counts) and n < 200:
        gort.sleep(Slow(1e-6))
        n += 1
    stop.append(1)
    print("all_ran", all(counts), "within_20_sleeps", n <= 20)


gort.run(main)
