"""Four goroutines spin on one P for a second; each gets about a quarter of it.

None of them ever calls gort inside its loop: the only thing that moves the
processor from one to the next is sysmon's preemption.

    gort run examples/fair_spinners.py [SECONDS]
"""

import sys

import gort

N = 4
duration = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
counts = [0] * N
stop = [False]


def spinner(i: int) -> None:
    n = 0
    while not stop[0]:
        n += 1
        counts[i] = n


for i in range(N):
    gort.go(spinner, i)
gort.sleep(duration)
stop[0] = True
total = sum(counts)
for i, c in enumerate(counts):
    print(f"spinner {i}: {c:>10} iterations, share {c / total:.3f}")
st = gort.stats()
print(f"preemptions: {st['preempt_async']} async, {st['preempt_sync']} sync")
