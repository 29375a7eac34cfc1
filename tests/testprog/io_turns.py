"""Goroutines sharing one of io's buffered objects whose raw stream parks them
(helper-74, F1 and F2). The C object holds a lock owned by the thread while the raw
stream's read or write runs; before, the next goroutine entering it got "RuntimeError:
reentrant call inside <_io.BufferedWriter>" and its bytes were lost (every run, each
mode), where a second thread waits.

argv[1]:
- rawlock: three writers through io.BufferedWriter(raw, 16), whose Python raw.write
  takes a threading.Lock that a fourth goroutine holds while it computes (preempted);
- park: the same, raw.write parking with gort.sleep(0) inside its lock;
- sock: three writers through socket.makefile("wb") of a gort.socket pair with a small
  send buffer (send parks in the netpoller);
- readline: two readers of one socket.makefile("rb"), lines sent slowly;
- rwpair: one socket.makefile("rwb"): a goroutine waits in readline for the echo of the
  line another goroutine then writes through the same file (helper-75, F1: a single turn
  for the pair's reads and writes hung it).
Prints OK, or what was lost.
"""
import io
import socket
import sys
import threading

import gort
import gort.socket

MODE = sys.argv[1]
N = 200


def writers(f: io.BufferedIOBase, got: bytearray, errs: list[str]) -> None:
    def w(c: bytes) -> None:
        try:
            for _ in range(N):
                f.write(c * 50)
        except Exception as e:
            errs.append(repr(e))

    wg = gort.sync.WaitGroup()
    for c in (b"a", b"b", b"c"):
        wg.go(w, c)
    wg.wait()
    f.flush()


def over_raw(park: bool) -> tuple[list[str], int, int]:
    lk = threading.Lock()
    got = bytearray()
    stop = [False]

    class Raw(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            with lk:
                if park:
                    gort.sleep(0)
                got.extend(bytes(b))  # type: ignore[call-overload]
            return len(b)  # type: ignore[arg-type]

    def holder() -> None:
        while not stop[0]:
            with lk:
                s = 0
                for i in range(20_000):
                    s += i  # preempted here, holding lk

    f = io.BufferedWriter(Raw(), buffer_size=16)
    held = gort.sync.WaitGroup()
    if not park:
        held.go(holder)
    errs: list[str] = []
    writers(f, got, errs)
    stop[0] = True
    held.wait()
    return errs, len(got), 3 * N * 50


def over_socket() -> tuple[list[str], int, int]:
    a, b = gort.socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    f = a.makefile("wb", buffering=64)
    got = bytearray()
    done = gort.Chan()

    def reader() -> None:
        while d := b.recv(65536):
            got.extend(d)
            gort.sleep(0.001)
        done.send(None)

    gort.go(reader)
    errs: list[str] = []
    writers(f, got, errs)
    a.shutdown(socket.SHUT_WR)
    done.recv()
    return errs, len(got), 3 * N * 50


def readlines() -> tuple[list[str], int, int]:
    a, b = gort.socket.socketpair()
    f = b.makefile("rb")
    got: list[bytes] = []
    errs: list[str] = []

    def r() -> None:
        try:
            while line := f.readline():
                got.append(line)
        except Exception as e:
            errs.append(repr(e))

    wg = gort.sync.WaitGroup()
    wg.go(r)
    wg.go(r)
    for i in range(N):
        a.sendall(b"line %d\n" % i)
        gort.sleep(0.0005)
    a.shutdown(socket.SHUT_WR)
    wg.wait()
    if sorted(got, key=lambda x: int(x.split()[1])) != [b"line %d\n" % i for i in range(N)]:
        errs.append("lines out of place")
    return errs, len(got), N


def rwpair() -> tuple[list[str], int, int]:
    a, b = gort.socket.socketpair()
    f = a.makefile("rwb")
    got: list[bytes] = []

    def echo() -> None:
        while line := b.recv(100):
            b.sendall(line)

    def reader() -> None:
        got.extend(f.readline() for _ in range(N))

    gort.go(echo)
    wg = gort.sync.WaitGroup()
    wg.go(reader)
    gort.sleep(0.01)  # the reader waits in readline first
    for i in range(N):
        f.write(b"ping %d\n" % i)
        f.flush()
        gort.sleep(0.0005)
    wg.wait()
    f.close()
    a.close()
    errs = [] if got == [b"ping %d\n" % i for i in range(N)] else ["lines out of place"]
    return errs, len(got), N


def main() -> None:
    errs, got, want = {"rawlock": lambda: over_raw(False), "park": lambda: over_raw(True),
                       "sock": over_socket, "readline": readlines, "rwpair": rwpair}[MODE]()
    print("OK" if not errs and got == want else f"BAD errs={errs[:2]} got={got} of {want}")


gort.run(main)
