"""Goroutines compute inside greenlets they created and are preempted in there.

Three workers each run a spinning computation inside a child greenlet; a
fourth goroutine needs the CPU too, so sysmon preempts them inside their
child greenlets. Each must resume there and return the right value.
"""

from greenlet import greenlet

import gort


def compute(n):
    total = 0
    for i in range(n):
        for _ in range(100):
            pass
        total += i
    return total


def worker(out):
    g = greenlet(compute)
    out.send(g.switch(60_000))


def main():
    out = gort.Chan(3)
    for _ in range(3):
        gort.go(worker, out)
    ticks = 0
    t = gort.Ticker(0.002)
    got = []
    while len(got) < 3:
        i, v = gort.select(out.recv, t.c.recv)
        if i == 0:
            got.append(v)
        else:
            ticks += 1
    t.stop()
    assert got == [sum(range(60_000))] * 3, got
    assert ticks > 0
    print("ok", len(got))


gort.run(main)
