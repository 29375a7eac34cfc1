"""gort.run again and again, each run abandoning parked goroutines: RSS must stay flat.

argv: runs, goroutines per run, and the shape the goroutines park in (default
``plain``): ``try`` (inside try/finally and try/except), ``with`` (inside a
with block), ``child`` (inside a child greenlet of their own, itself inside a
try). Prints the RSS (KiB) after each run, then the goroutines kept for the
process's life (abandon.kept()). No handler of an abandoned goroutine ever runs
("resumed" or "handler" would be printed).
"""
import contextlib
import os
import sys

from greenlet import greenlet

import gort
from gort.runtime import abandon

RUNS = int(sys.argv[1])
N = int(sys.argv[2])
SHAPE = sys.argv[3] if len(sys.argv) > 3 else "plain"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_KIB


class Ctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        print("handler: __exit__")


@contextlib.contextmanager
def managed(ch):
    try:
        yield
    finally:
        print("handler: contextmanager finally")


@contextlib.contextmanager
def nested(ch):
    with managed(ch):
        try:
            yield
        except BaseException:
            print("handler: contextmanager except")


def gen(ch):
    try:
        yield ch.recv()
    finally:
        print("handler: generator finally")


def outer_gen(ch):
    try:
        yield from gen(ch)
    finally:
        print("handler: outer generator finally")


def suspended(ch):
    try:
        yield 1
        yield 2
    finally:
        print("handler: suspended generator finally")


async def coro(ch):
    try:
        ch.recv()
    finally:
        print("handler: coroutine finally")


async def outer_coro(ch):
    try:
        await coro(ch)
    except BaseException:
        print("handler: outer coroutine except")


async def agen(ch):
    try:
        yield 1
    finally:
        print("handler: async generator finally")


def park(ch, data):
    if SHAPE == "cm":
        with managed(ch):
            ch.recv()
    elif SHAPE == "nestedcm":
        with nested(ch):
            ch.recv()
    elif SHAPE == "gen":
        for _ in gen(ch):
            pass
    elif SHAPE == "next":
        next(outer_gen(ch))
    elif SHAPE == "send":
        outer_coro(ch).send(None)
    elif SHAPE == "local":
        it = suspended(ch)
        next(it)
        a = agen(ch)
        try:
            a.asend(None).send(None)
        except StopIteration:
            pass  # the async generator yielded: suspended inside its try
        ch.recv()
    elif SHAPE == "iter":
        for _ in suspended(ch):
            ch.recv()
    elif SHAPE == "try":
        try:
            try:
                ch.recv()
            except BaseException:
                print("handler: except")
        finally:
            print("handler: finally")
    elif SHAPE == "with":
        with Ctx():
            ch.recv()
    else:
        ch.recv()
    print("resumed", data)  # never: abandoned goroutines are never resumed


def worker(ch, box):
    data = [box] * 10  # something for the abandoned frame to hold
    if SHAPE == "child":
        try:
            greenlet(park).switch(ch, data)
        finally:
            print("handler: parent finally")
    else:
        park(ch, data)


def main():
    ch = gort.Chan()
    for _ in range(N):
        gort.go(worker, ch, object())
    gort.sleep(0)  # let them all park
    gort.sleep(0.001)
    return gort.num_goroutine()


for _ in range(RUNS):
    assert gort.run(main) == N + 1
    print(rss_kib())
gort.run(lambda: None)  # the last run's goroutines are released at the next start
print("kept", abandon.kept())
