"""Run with `gort run --net net_redis.py PORT`: 100 goroutines use one redis-py client
(its connection pool) against redis-server on 127.0.0.1:PORT: SET/GET, then a pipeline of
INCRBY/SET/GET per goroutine. Prints JSON: values right, threads seen."""

from __future__ import annotations

import json
import os
import sys

import redis

import gort

N = 100


def main() -> None:
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20, max_connections=N)
    r.flushdb()
    right = [0]
    most = [len(os.listdir("/proc/self/task"))]
    base = most[0]

    def worker(i: int) -> None:
        key = f"k{i}"
        r.set(key, f"v{i}" * (i + 1))
        ok = r.get(key) == f"v{i}".encode() * (i + 1)
        for _ in range(3):
            with r.pipeline() as p:
                p.incrby(f"n{i}", i)
                p.set(f"p{i}", str(i))
                p.get(f"p{i}")
                p.incrby("total", 1)
                got = p.execute()
            ok = ok and got[1] is True and got[2] == str(i).encode()
        ok = ok and r.get(f"n{i}") == str(3 * i).encode()
        most[0] = max(most[0], len(os.listdir("/proc/self/task")))
        right[0] += ok

    wg = gort.sync.WaitGroup()
    for i in range(N):
        wg.go(worker, i)
    wg.wait()
    print(json.dumps({"right": right[0], "total": int(r.get("total") or 0),
                      "threads": most[0], "base": base}))


main()
