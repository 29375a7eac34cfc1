"""Two goroutines loop on one call into a no-preempt module or gort's own lock code, beside
a goroutine that sleeps 1 ms 50 times (adversarial round 4, B4). The preemption request
that lands inside must end the slice when that call returns (a hook at its caller), not
wait for a later request to land outside, which a loop spending most of its time inside
rarely gets: the ticker waited 20-320 ms per sleep, up to 4 s, and on 3.13 the queue loop
did not finish in 30 s.

argv[1]: queue (a private queue.Queue's put and get: gort's Lock under threading's
Condition under queue), logging (a debug call below the level), current_thread, or
logging-prerun (logging configured before import gort: the handler's lock is a plain
RLock, taken by acquire() on 3.11 and in a with block on 3.12+).

Prints the mode and OK when the ticker's median sleep stayed within 10 slices and every
deferral counted for a module or the runtime was hooked; else BAD and what was seen.
"""
import io
import logging
import sys

MODE = sys.argv[1]
if MODE == "logging-prerun":
    logging.basicConfig(stream=io.StringIO(), level=logging.INFO)

import queue  # noqa: E402
import threading  # noqa: E402

from sleep_latency import sleep_latencies  # noqa: E402

import gort  # noqa: E402  (logging-prerun: the handler above is made before gort, on purpose)

log = logging.getLogger("nopreempt-hook")
if MODE == "logging":
    log.setLevel(logging.WARNING)
q: queue.Queue[int] = queue.Queue()
stop = [False]


def spinner() -> None:
    while not stop[0]:
        if MODE == "queue":
            q.put(1)
            q.get()
        elif MODE == "logging":
            log.debug("x %s", 1)
        elif MODE == "logging-prerun":
            log.info("working %d", 1)
        else:
            threading.current_thread()


def main() -> None:
    for _ in range(2):
        gort.go(spinner)
    lat = sleep_latencies()
    stop[0] = True
    gort.sleep(0.05)
    deferred = gort.stats()["preempt_deferred"]
    # Keys of deferrals for a module or the runtime: "<name>: hooked" / "<name>: no hook"
    # (the rest: "in call", "C between frames", "thread lock held", ...).
    inside = {k: v for k, v in deferred.items()
              if k.split(":")[0] in ("queue", "logging", "threading", "runtime")}
    hooked = sum(v for k, v in inside.items() if k.endswith(": hooked"))
    # Expected: about one 10 ms slice; bound 10x for a loaded machine.
    good = lat[25] < 0.1 and hooked > 0 and hooked == sum(inside.values())
    print(MODE, "OK" if good else f"BAD median {lat[25] * 1e3:.1f} ms max "
          f"{lat[-1] * 1e3:.1f} ms deferred {deferred}")


gort.run(main)
