"""One benchmark case per process: ``python bench/cases.py BENCH SYSTEM N``.

Prints one JSON object with the measurement. bench/run.py calls it for every
(benchmark, system) pair, alternating systems, and aggregates. Every system
does the same work; where a system has no equivalent (select outside Go and
gort) the pair is not run and the report says n/a.

Systems: gort, greenlet (raw switching: the floor for any greenlet runtime),
asyncio, uvloop, gevent, trio, threads. Go is bench/go/main.go.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

Result = dict[str, Any]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- ping-pong: round trips over an unbuffered channel ------------------------------


def pingpong_gort(n: int, trace_to: str | None = None) -> Result:
    """Round trips; with ``trace_to``, under an execution trace written there."""
    import gort

    def main() -> float:
        a: gort.Chan[int] = gort.Chan()
        b: gort.Chan[int] = gort.Chan()

        def pong() -> None:
            for v in a:
                b.send(v)

        gort.go(pong)
        if trace_to:
            gort.trace.start(trace_to)
        t = time.perf_counter()
        for i in range(n):
            a.send(i)
            b.recv()
        dt = time.perf_counter() - t
        if trace_to:
            gort.trace.stop()
        a.close()
        return dt

    return {"ns_per_op": gort.run(main) / n * 1e9}


def pingpong_greenlet(n: int) -> Result:
    import greenlet

    main = greenlet.getcurrent()

    def pong() -> None:
        while True:
            main.switch()

    g = greenlet.greenlet(pong)
    g.switch()
    t = time.perf_counter()
    for _ in range(n):
        g.switch()
    return {"ns_per_op": (time.perf_counter() - t) / n * 1e9}


def _asyncio_pingpong(n: int) -> float:
    import asyncio

    async def main() -> float:
        a: asyncio.Queue[int] = asyncio.Queue(1)
        b: asyncio.Queue[int] = asyncio.Queue(1)

        async def pong() -> None:
            while True:
                await b.put(await a.get())

        task = asyncio.ensure_future(pong())
        t = time.perf_counter()
        for i in range(n):
            await a.put(i)
            await b.get()
        dt = time.perf_counter() - t
        task.cancel()
        return dt

    return asyncio.run(main())


def pingpong_asyncio(n: int) -> Result:
    return {"ns_per_op": _asyncio_pingpong(n) / n * 1e9}


def pingpong_uvloop(n: int) -> Result:
    import uvloop

    uvloop.install()
    return pingpong_asyncio(n)


def pingpong_gevent(n: int) -> Result:
    import gevent
    from gevent.queue import Channel

    a, b = Channel(), Channel()

    def pong() -> None:
        while True:
            b.put(a.get())

    g = gevent.spawn(pong)
    t = time.perf_counter()
    for i in range(n):
        a.put(i)
        b.get()
    dt = time.perf_counter() - t
    g.kill()
    return {"ns_per_op": dt / n * 1e9}


def pingpong_trio(n: int) -> Result:
    import trio

    async def main() -> float:
        a_s, a_r = trio.open_memory_channel[int](0)
        b_s, b_r = trio.open_memory_channel[int](0)

        async def pong() -> None:
            async for v in a_r:
                await b_s.send(v)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(pong)
            t = time.perf_counter()
            for i in range(n):
                await a_s.send(i)
                await b_r.receive()
            dt = time.perf_counter() - t
            nursery.cancel_scope.cancel()
        return dt

    return {"ns_per_op": trio.run(main) / n * 1e9}


def pingpong_threads(n: int) -> Result:
    import queue
    import threading

    a: queue.Queue[int] = queue.Queue(1)
    b: queue.Queue[int] = queue.Queue(1)

    def pong() -> None:
        while (v := a.get()) >= 0:
            b.put(v)

    th = threading.Thread(target=pong)
    th.start()
    t = time.perf_counter()
    for i in range(n):
        a.put(i)
        b.get()
    dt = time.perf_counter() - t
    a.put(-1)
    th.join()
    return {"ns_per_op": dt / n * 1e9}


# -- buffered: one producer, one consumer, capacity 128 --------------------------------


def buffered_gort(n: int) -> Result:
    import gort

    def main() -> float:
        c: gort.Chan[int] = gort.Chan(128)

        def producer() -> None:
            for i in range(n):
                c.send(i)
            c.close()

        gort.go(producer)
        t = time.perf_counter()
        total = 0
        for v in c:
            total += v
        dt = time.perf_counter() - t
        assert total == n * (n - 1) // 2
        return dt

    return {"ns_per_op": gort.run(main) / n * 1e9}


def buffered_asyncio(n: int) -> Result:
    import asyncio

    async def main() -> float:
        q: asyncio.Queue[int | None] = asyncio.Queue(128)

        async def producer() -> None:
            for i in range(n):
                await q.put(i)
            await q.put(None)

        task = asyncio.ensure_future(producer())
        t = time.perf_counter()
        while await q.get() is not None:
            pass
        dt = time.perf_counter() - t
        await task
        return dt

    return {"ns_per_op": asyncio.run(main()) / n * 1e9}


def buffered_uvloop(n: int) -> Result:
    import uvloop

    uvloop.install()
    return buffered_asyncio(n)


def buffered_gevent(n: int) -> Result:
    import gevent
    from gevent.queue import Queue

    q = Queue(128)

    def producer() -> None:
        for i in range(n):
            q.put(i)
        q.put(None)

    g = gevent.spawn(producer)
    t = time.perf_counter()
    while q.get() is not None:
        pass
    dt = time.perf_counter() - t
    g.join()
    return {"ns_per_op": dt / n * 1e9}


def buffered_trio(n: int) -> Result:
    import trio

    async def main() -> float:
        s, r = trio.open_memory_channel[int](128)

        async def producer() -> None:
            async with s:
                for i in range(n):
                    await s.send(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            t = time.perf_counter()
            async for _ in r:
                pass
            return time.perf_counter() - t

    return {"ns_per_op": trio.run(main) / n * 1e9}


def buffered_threads(n: int) -> Result:
    import queue
    import threading

    q: queue.Queue[int | None] = queue.Queue(128)

    def producer() -> None:
        for i in range(n):
            q.put(i)
        q.put(None)

    th = threading.Thread(target=producer)
    t = time.perf_counter()
    th.start()
    while q.get() is not None:
        pass
    dt = time.perf_counter() - t
    th.join()
    return {"ns_per_op": dt / n * 1e9}


# -- spawn: start and finish N ----------------------------------------------------


def spawn_gort(n: int) -> Result:
    import gort
    from gort.sync import WaitGroup

    def main() -> float:
        wg = WaitGroup()
        t = time.perf_counter()
        wg.add(n)
        for _ in range(n):
            gort.go(wg.done)
        wg.wait()
        return time.perf_counter() - t

    return {"us_per_op": gort.run(main) / n * 1e6}


def spawn_greenlet(n: int) -> Result:
    import greenlet

    def f() -> None:
        pass

    t = time.perf_counter()
    for _ in range(n):
        greenlet.greenlet(f).switch()
    return {"us_per_op": (time.perf_counter() - t) / n * 1e6}


def spawn_asyncio(n: int) -> Result:
    import asyncio

    async def f() -> None:
        pass

    async def main() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(f() for _ in range(n)))
        return time.perf_counter() - t

    return {"us_per_op": asyncio.run(main()) / n * 1e6}


def spawn_uvloop(n: int) -> Result:
    import uvloop

    uvloop.install()
    return spawn_asyncio(n)


def spawn_gevent(n: int) -> Result:
    import gevent

    def f() -> None:
        pass

    t = time.perf_counter()
    gevent.joinall([gevent.spawn(f) for _ in range(n)])
    return {"us_per_op": (time.perf_counter() - t) / n * 1e6}


def spawn_trio(n: int) -> Result:
    import trio

    async def f() -> None:
        pass

    async def main() -> float:
        t = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(f)
        return time.perf_counter() - t

    return {"us_per_op": trio.run(main) / n * 1e6}


def spawn_threads(n: int) -> Result:
    import threading

    n = min(n, 10_000)  # OS threads: a smaller N, per-thread cost reported

    def f() -> None:
        pass

    t = time.perf_counter()
    ths = [threading.Thread(target=f) for _ in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return {"us_per_op": (time.perf_counter() - t) / n * 1e6, "n": n}


# -- memory: RSS per parked goroutine ------------------------------------------------


def memory_gort(n: int) -> Result:
    import gort

    def main() -> float:
        block: gort.Chan[None] = gort.Chan()
        gort.go(lambda: None)
        gort.sleep(0)
        before = rss_bytes()
        for _ in range(n):
            gort.go(block.recv)
        gort.sleep(0.001)  # every one has run and parked
        assert gort.num_goroutine() == n + 1
        return (rss_bytes() - before) / n

    return {"bytes_per_op": gort.run(main)}


def memory_greenlet(n: int) -> Result:
    import greenlet

    main = greenlet.getcurrent()

    def f() -> None:
        main.switch()

    before = rss_bytes()
    grs = []
    for _ in range(n):
        g = greenlet.greenlet(f)
        g.switch()
        grs.append(g)
    return {"bytes_per_op": (rss_bytes() - before) / n}


def memory_asyncio(n: int) -> Result:
    import asyncio

    async def main() -> float:
        ev = asyncio.Event()
        before = rss_bytes()
        tasks = [asyncio.ensure_future(ev.wait()) for _ in range(n)]
        await asyncio.sleep(0.001)
        per = (rss_bytes() - before) / n
        ev.set()
        await asyncio.gather(*tasks)
        return per

    return {"bytes_per_op": asyncio.run(main())}


def memory_gevent(n: int) -> Result:
    import gevent
    from gevent.event import Event

    ev = Event()
    before = rss_bytes()
    gs = [gevent.spawn(ev.wait) for _ in range(n)]
    gevent.sleep(0.001)
    per = (rss_bytes() - before) / n
    ev.set()
    gevent.joinall(gs)
    return {"bytes_per_op": per}


def memory_trio(n: int) -> Result:
    import trio

    async def main() -> float:
        ev = trio.Event()
        async with trio.open_nursery() as nursery:
            before = rss_bytes()
            for _ in range(n):
                nursery.start_soon(ev.wait)
            await trio.sleep(0.001)
            per = (rss_bytes() - before) / n
            ev.set()
        return per

    return {"bytes_per_op": trio.run(main)}


# -- select over 4 channels fed by 4 producers -------------------------------------------


def select_gort(n: int) -> Result:
    import gort

    def main() -> float:
        chans: list[gort.Chan[int]] = [gort.Chan() for _ in range(4)]

        def producer(c: gort.Chan[int]) -> None:
            for i in range(n // 4):
                c.send(i)

        for c in chans:
            gort.go(producer, c)
        cases = [c.recv for c in chans]
        t = time.perf_counter()
        for _ in range(n // 4 * 4):
            gort.select(*cases)
        return time.perf_counter() - t

    return {"ns_per_op": gort.run(main) / n * 1e9}


# -- fair share: 4 spinners for 1 s on one processor --------------------------------------


def _spinners(seconds: float) -> tuple[list[int], Callable[[int], None]]:
    """Four counters and a spinner that counts into one until ``seconds`` from now."""
    counts = [0] * 4
    end = time.monotonic() + seconds

    def spin(i: int) -> None:
        n = 0
        while time.monotonic() < end:
            n += 1
        counts[i] = n

    return counts, spin


def _shares(counts: list[int]) -> Result:
    total = sum(counts) or 1
    shares = [c / total for c in counts]
    return {"shares": shares, "worst_dev": max(abs(s - 0.25) / 0.25 for s in shares)}


def fair_gort(seconds: float) -> Result:
    import gort

    def main() -> Result:
        counts, spin = _spinners(seconds)
        for i in range(4):
            gort.go(spin, i)
        gort.sleep(seconds + 0.05)
        return _shares(counts)

    return gort.run(main)


def fair_threads(seconds: float) -> Result:
    import threading

    counts, spin = _spinners(seconds)
    ths = [threading.Thread(target=spin, args=(i,)) for i in range(4)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return _shares(counts)


def fair_gevent(seconds: float) -> Result:
    import gevent

    counts, spin = _spinners(seconds)
    gevent.joinall([gevent.spawn(spin, i) for i in range(4)])
    return _shares(counts)


def fair_asyncio(seconds: float) -> Result:
    import asyncio

    counts = [0] * 4
    end = time.monotonic() + seconds

    async def spin(i: int) -> None:
        n = 0
        while time.monotonic() < end:
            n += 1
        counts[i] = n

    async def main() -> None:
        await asyncio.gather(*(spin(i) for i in range(4)))

    asyncio.run(main())
    return _shares(counts)


# -- preemption latency: a 1 ms sleeper for 2 s while 4 spin ----------------------------


def _lateness(late: list[float]) -> Result:
    if not late:
        return {"ticks": 0}
    late.sort()
    return {"ticks": len(late), "p50_ms": late[len(late) // 2] * 1e3,
            "p99_ms": late[min(len(late) - 1, int(len(late) * 0.99))] * 1e3,
            "max_ms": late[-1] * 1e3}


def latency_gort(seconds: float) -> Result:
    import gort

    def main() -> Result:
        end = time.monotonic() + seconds

        def hog() -> None:
            while time.monotonic() < end:
                pass

        for _ in range(4):
            gort.go(hog)
        late = []
        while time.monotonic() < end:
            t = time.monotonic()
            gort.sleep(0.001)
            late.append(time.monotonic() - t - 0.001)
        return _lateness(late)

    return gort.run(main)


def latency_threads(seconds: float) -> Result:
    import threading

    end = time.monotonic() + seconds

    def hog() -> None:
        while time.monotonic() < end:
            pass

    ths = [threading.Thread(target=hog) for _ in range(4)]
    for th in ths:
        th.start()
    late = []
    while time.monotonic() < end:
        t = time.monotonic()
        time.sleep(0.001)
        late.append(time.monotonic() - t - 0.001)
    for th in ths:
        th.join()
    return _lateness(late)


def latency_gevent(seconds: float) -> Result:
    import gevent

    end = time.monotonic() + seconds
    late: list[float] = []

    def hog() -> None:
        while time.monotonic() < end:
            pass

    def sleeper() -> None:
        while time.monotonic() < end:
            t = time.monotonic()
            gevent.sleep(0.001)
            if time.monotonic() < end:
                late.append(time.monotonic() - t - 0.001)

    gevent.joinall([gevent.spawn(sleeper)] + [gevent.spawn(hog) for _ in range(4)])
    return _lateness(late)


def latency_asyncio(seconds: float) -> Result:
    import asyncio

    end = time.monotonic() + seconds
    late: list[float] = []

    async def hog() -> None:
        while time.monotonic() < end:
            pass

    async def sleeper() -> None:
        while time.monotonic() < end:
            t = time.monotonic()
            await asyncio.sleep(0.001)
            if time.monotonic() < end:
                late.append(time.monotonic() - t - 0.001)

    async def main() -> None:
        await asyncio.gather(sleeper(), *(hog() for _ in range(4)))

    asyncio.run(main())
    return _lateness(late)


# -- lock-heavy: logging from 10 goroutines, queue.Queue ping-pong ---------------------------


def _log_lines(n: int, workers: int, start: Callable[[Callable[[], None]], Any],
               wait: Callable[[], None]) -> Result:
    """n lines through one logger and one StringIO handler, from ``workers`` at once."""
    import io
    import logging

    log = logging.getLogger(f"bench{time.monotonic_ns()}")
    log.propagate = False
    out = io.StringIO()
    log.addHandler(logging.StreamHandler(out))  # its lock is made here: inside the run
    log.setLevel(logging.INFO)

    def worker() -> None:
        for i in range(n // workers):
            log.info("line %d", i)

    t = time.perf_counter()
    for _ in range(workers):
        start(worker)
    wait()
    dt = time.perf_counter() - t
    assert out.getvalue().count("\n") == n // workers * workers
    return {"ns_per_op": dt / n * 1e9}


def logging_gort(n: int) -> Result:
    import gort

    def main() -> Result:
        wg = gort.sync.WaitGroup()

        def start(fn: Callable[[], None]) -> None:
            wg.add(1)
            gort.go(lambda: (fn(), wg.done()))

        return _log_lines(n, 10, start, wg.wait)

    return gort.run(main)  # type: ignore[no-any-return]


def logging_threads(n: int) -> Result:
    import threading

    ts: list[threading.Thread] = []

    def start(fn: Callable[[], None]) -> None:
        ts.append(threading.Thread(target=fn))
        ts[-1].start()

    def wait() -> None:
        for th in ts:
            th.join()

    return _log_lines(n, 10, start, wait)


def _queue_pingpong(n: int, start: Callable[[Callable[[], None]], Any]) -> float:
    import queue

    a: queue.Queue[int] = queue.Queue()
    b: queue.Queue[int] = queue.Queue()

    def pong() -> None:
        while True:
            v = a.get()
            if v < 0:
                return
            b.put(v)

    start(pong)
    t = time.perf_counter()
    for i in range(n):
        a.put(i)
        b.get()
    dt = time.perf_counter() - t
    a.put(-1)
    return dt


def queuepp_gort(n: int) -> Result:
    import gort

    return {"ns_per_op": gort.run(lambda: _queue_pingpong(n, gort.go)) / n * 1e9}


def queuepp_threads(n: int) -> Result:
    import threading

    ts: list[threading.Thread] = []

    def start(fn: Callable[[], None]) -> None:
        ts.append(threading.Thread(target=fn))
        ts[-1].start()

    dt = _queue_pingpong(n, start)
    ts[0].join()
    return {"ns_per_op": dt / n * 1e9}


# -- overhead: CPU-bound pure Python, plainly and inside gort ------------------------------


def overhead_gort(n: int) -> Result:
    import gort

    def work() -> int:
        x = 0
        for i in range(n):
            x += i * i % 7
        return x

    plain: list[float] = []
    inside: list[float] = []

    def timed() -> float:
        t = time.process_time()
        work()
        return time.process_time() - t

    for _ in range(5):
        plain.append(timed())
        inside.append(gort.run(timed))
    return {"ratio": min(inside) / min(plain), "ratio_median":
            statistics.median(inside) / statistics.median(plain)}


def main() -> None:
    bench, system, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    fn: Callable[[Any], Result] = globals()[f"{bench}_{system}"]
    value: Any = float(arg) if "." in arg else int(arg)
    print(json.dumps(fn(value)))


if __name__ == "__main__":
    main()
