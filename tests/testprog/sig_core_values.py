"""Nothing an operation did is undone by a signal handler that raises right after it.

    python tests/testprog/sig_core_values.py MODE N

A 1 ms SIGALRM handler raises Boom at the first check after it is armed. Main does
N operations of one kind in a loop that redoes the one a Boom interrupted:

    recv, recv_ok, select, next: receive N values (unbuffered, from a sender goroutine)
    buffered: receive N values from a full buffered channel (no parking at all)
    send: send N values into a buffered channel with room for all
    go: start N goroutines, each recording its number
    psend: send N values through functools.partial(gort.select) (a Python operation
        called through a C callable: it returns through the caller's check)
    wggo: start N goroutines through functools.partial(wg.go)

    python tests/testprog/sig_core_values.py MODE N prof

runs it under a profile function that calls gort (a non-blocking select) on every
c_return event: its operations must not hide the program's.

Every value must arrive exactly once. CPython checks for signals right after a call
returns, before its result is stored: on the C core a handler raising there dropped a
received value, or made a send (a go) look undone, so the loop did it twice (~20 values
in 300,000). Prints "MODE booms B missing M dup D".
"""

import functools
import signal
import sys

import gort

MODE = sys.argv[1]
N = int(sys.argv[2])
TRACER = sys.argv[3] if len(sys.argv) > 3 else ""


class Boom(Exception):
    pass


armed = [False]
done = [False]


def handler(signum, frame):
    if armed[0] and not done[0]:
        armed[0] = False
        raise Boom


def producer(ch):
    for i in range(N):
        ch.send(i)
    ch.close()


def drain(recv, got):
    while True:
        v = recv()
        if v is None:
            break
        got.append(v)


def main():
    got = []
    booms = 0
    unbuffered = gort.Chan()
    full = gort.Chan(N)
    room = gort.Chan(N)
    if MODE == "buffered":
        for i in range(N):
            full.send(i)
        full.close()
    elif MODE in ("recv", "recv_ok", "select", "next"):
        gort.go(producer, unbuffered)

    def record(i):
        got.append(i)

    other = gort.Chan(1)

    def profiler(frame, event, arg):
        if event == "c_return":
            gort.select(other.recv, gort.default)

    psel = functools.partial(gort.select)
    wg = gort.sync.WaitGroup()
    wggo = functools.partial(wg.go)
    if TRACER == "prof":
        sys.setprofile(profiler)

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    i = 0
    it = iter(unbuffered)
    while True:
        try:
            armed[0] = True
            # Each loop records a value before any check for signals but the call's
            # own: `while (v := ch.recv()) is not None` jumps back, and checks, between the
            # receive and the append (an exception there leaves the value in v only).
            # No `while cond:` either: 3.13 leaves its back edge outside the try's
            # exception table, and a handler's exception there escapes the `except`
            # (CPython issue 130279).
            if MODE == "recv":
                drain(unbuffered.recv, got)
            elif MODE == "recv_ok":
                while True:
                    v, ok = unbuffered.recv_ok()
                    if not ok:
                        break
                    got.append(v)
            elif MODE == "select":
                while True:
                    _, (v, ok) = gort.select(unbuffered.recv_ok)
                    if not ok:
                        break
                    got.append(v)
            elif MODE == "next":
                while True:
                    v = next(it, None)
                    if v is None:
                        break
                    got.append(v)
            elif MODE == "buffered":
                drain(full.recv, got)
            elif MODE == "send":
                while True:
                    if i >= N:
                        break
                    room.send(i)
                    i += 1
            elif MODE == "psend":
                while True:
                    if i >= N:
                        break
                    psel((room.send, i))
                    i += 1
            elif MODE == "wggo":
                while True:
                    if i >= N:
                        break
                    wggo(record, i)
                    i += 1
            elif MODE == "go":
                while True:
                    if i >= N:
                        break
                    gort.go(record, i)
                    i += 1
            else:
                raise SystemExit(f"unknown mode {MODE!r}")
            done[0] = True
            break
        except Boom:
            booms += 1
            it = iter(unbuffered)  # an exception ends an iterator, as it ends a generator
    try:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        sys.setprofile(None)
        gort.sleep(0)  # a safe point: an exception still pending for main is raised here
    except Boom:
        # The handler ran (and raised) before done was set, its exception delivered
        # after the loop: at a 50 us slice the hook may leave it for a later line
        # (issue 8, open; CI stop 31, pure, recv_ok, once). Not a value lost or doubled,
        # which is what this program counts.
        booms += 1
    if MODE in ("send", "psend"):
        room.close()
        got = list(room)
    elif MODE in ("go", "wggo"):
        for _ in range(100_000):
            if len(got) >= N:
                break
            gort.sleep(0.001)
        gort.sleep(0.01)  # a goroutine started twice would have run by now
    print(f"{MODE} booms {booms} missing {N - len(set(got))} dup {len(got) - len(set(got))}")


gort.run(main)
