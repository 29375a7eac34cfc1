"""Shared by test programs run as scripts (their directory is on sys.path): how late a
goroutine's short sleeps come back while others compute."""
import time

import gort


def sleep_latencies(n: int = 50, seconds: float = 0.001) -> list[float]:
    """n gort.sleep(seconds) calls, each one's wall time in seconds, sorted."""
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        gort.sleep(seconds)
        lat.append(time.monotonic() - t0)
    lat.sort()
    return lat
