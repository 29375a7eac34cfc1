"""Where a ping-pong round trip's time goes: cProfile over 20 000 round trips.

    python bench/profile_pingpong.py
"""

import cProfile
import io
import pstats

import gort

N = 20000
def main():
    a, b = gort.Chan(), gort.Chan()
    def pong():
        for v in a:
            b.send(v)
    gort.go(pong)
    for i in range(N):
        a.send(i)
        b.recv()
    a.close()
pr = cProfile.Profile()
pr.enable()
gort.run(main)
pr.disable()
print(f"round trips: {N}")
out = io.StringIO()
pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(18)
print(out.getvalue())
