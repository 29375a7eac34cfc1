"""3000 self-referencing objects whose __del__ calls gort.sleep(0) (issue 9).

Prints how many finalizers ran and whether automatic collection was on during
the run. Before the finalizer goroutine, a collection triggered
inside the scheduler ran these finalizers there and the program hung.
"""

import gc
import time

import gort

N = 3000
ran = 0


class Obj:
    def __init__(self) -> None:
        self.me = self
        self.pad = [[] for _ in range(3)]  # allocation, so collections come due

    def __del__(self) -> None:
        global ran
        gort.sleep(0)
        ran += 1


def spin() -> None:
    for _ in range(500):
        gort.sleep(0)


for _ in range(4):
    gort.go(spin)
for i in range(N):
    Obj()
    if i % 100 == 0:
        gort.sleep(0)
deadline = time.monotonic() + 20
while ran < N and time.monotonic() < deadline:
    [[] for _ in range(200)]  # allocate: collections stay due until all ran
    gort.sleep(0.001)
print(f"ran={ran} enabled_during={gc.isenabled()}")
