"""A bounded parallel crawler of a directory tree: context, errgroup and a semaphore together.

    gort run examples/crawl.py ROOT [--workers N] [--delay SECONDS]
    python examples/crawl.py ROOT ...          (the same: gort.run hosts main)

Walks ROOT, a goroutine per directory and per file, and counts the lines of
every file read as UTF-8 text. Reading happens on worker threads
(``gort.offload_ctx``); a ``semaphore.Weighted(N)`` lets at most N reads run
at once however many goroutines the walk starts. (``errgroup.set_limit``
would bound the goroutines instead, and a directory's goroutine waiting for
a slot to start its children while holding one could deadlock the walk.)
``--delay`` adds a cancellable wait after each read (slow work holding its
slot), to watch the crawl stop.

Prints READY when the walk starts, then ``files=F lines=L`` and exits 0.
The first error (a file that is not UTF-8, a directory that cannot be
listed) cancels the group's context: the other goroutines stop at their
next wait, nothing new starts, it prints ``error: ...`` and exits 1.
Ctrl-C does the same and exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys

import gort
from gort import context, errgroup, semaphore


def sleep_ctx(ctx: context.Context, seconds: float) -> None:
    """Sleep, unless ctx is done first: then raise its error."""
    i, _ = gort.select(ctx.done().recv, gort.after(seconds).recv)
    if i == 0:
        err = ctx.err()
        assert err is not None
        raise err


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def list_dir(path: str) -> list[tuple[str, bool]]:
    with os.scandir(path) as it:
        return sorted((e.path, e.is_dir(follow_symlinks=False)) for e in it)


def crawl(ctx: context.Context, root: str, workers: int, delay: float) -> tuple[int, int]:
    """Count the files under root and their lines; raise the first error."""
    g, gctx = errgroup.with_context(ctx)
    sem = semaphore.Weighted(workers)
    totals = [0, 0]

    def count(path: str) -> None:
        sem.acquire(gctx)
        try:
            data = gort.offload_ctx(gctx, read_bytes, path)
            text = data.decode("utf-8")  # UnicodeDecodeError: the first error, say
            if delay:
                sleep_ctx(gctx, delay)  # the slow part of the work, cancellable
        finally:
            sem.release()
        totals[0] += 1
        totals[1] += text.count("\n")

    def walk(path: str) -> None:
        for p, is_dir in gort.offload_ctx(gctx, list_dir, path):
            if gctx.err() is not None:
                return  # cancelled: start nothing new
            g.go(walk if is_dir else count, p)

    with g:  # waits on exit; on Ctrl-C cancels gctx and waits for the goroutines to stop
        g.go(walk, root)
    return totals[0], totals[1]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="count lines under a directory, in parallel")
    ap.add_argument("root")
    ap.add_argument("--workers", type=int, default=4, help="files read at once (default 4)")
    ap.add_argument("--delay", type=float, default=0.0, help="work per file (s)")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error(f"--workers {args.workers}: at least one file must be read at a time")
    ctx, cancel = context.with_cancel(context.background())
    print("READY", flush=True)
    try:
        files, lines = crawl(ctx, args.root, args.workers, args.delay)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        print(f"error: {e!r}", file=sys.stderr)
        return 1
    finally:
        cancel()
    print(f"files={files} lines={lines}")
    return 0


if __name__ == "__main__":
    sys.exit(gort.run(main, sys.argv[1:]))
