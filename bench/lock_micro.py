"""Per-operation cost of gort's thread locks against the plain ones (docs/design.md).

    python bench/lock_micro.py

Times ``with lock: pass`` and a ``threading.local`` attribute read, median of
5 loops, for CPython's plain objects and for the ones ``import gort``
installs, from a thread outside any run (what threads of a program that
imports gort pay), from the main goroutine and from another goroutine.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import gort
from gort.runtime.threadlock import _allocate_raw, _raw_local, _RawRLock


def per_op_ns(fn: Callable[[int], None], n: int = 200_000) -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - t) / n * 1e9)
    return statistics.median(times)


def with_loop(lk: Any) -> Callable[[int], None]:
    def f(n: int) -> None:
        for _ in range(n):
            with lk:
                pass
    return f


def attr_loop(loc: Any) -> Callable[[int], None]:
    loc.x = 1

    def f(n: int) -> None:
        for _ in range(n):
            loc.x  # noqa: B018 - the read is what is timed
    return f


def cases() -> dict[str, float]:
    return {"Lock": per_op_ns(with_loop(threading.Lock())),
            "RLock": per_op_ns(with_loop(threading.RLock())),
            "local.x": per_op_ns(attr_loop(threading.local()))}


def main() -> None:
    res = {"plain": {"Lock": per_op_ns(with_loop(_allocate_raw())),
                     "RLock": per_op_ns(with_loop(_RawRLock())),
                     "local.x": per_op_ns(attr_loop(_raw_local()))},
           "gort, thread (no run)": cases()}

    def run() -> None:
        res["gort, main goroutine"] = cases()
        ch: gort.Chan[dict[str, float]] = gort.Chan()
        gort.go(lambda: ch.send(cases()))
        res["gort, other goroutine"] = ch.recv()

    gort.run(run)
    print(f"{'ns per op':24s} {'with Lock':>10s} {'with RLock':>10s} {'local.x':>10s}")
    for k, v in res.items():
        print(f"{k:24s} {v['Lock']:10.0f} {v['RLock']:10.0f} {v['local.x']:10.0f}")


if __name__ == "__main__":
    main()
