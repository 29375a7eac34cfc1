"""Classic Go channel programs, ported."""

from __future__ import annotations

import gort
from gort.sync import WaitGroup


def test_prime_sieve() -> None:
    """Go's concurrent prime sieve (the Go tour / doc/play/sieve.go)."""
    def generate(ch: gort.Chan[int]) -> None:
        i = 2
        while True:
            ch.send(i)
            i += 1

    def filt(src: gort.Chan[int], dst: gort.Chan[int], prime: int) -> None:
        while True:
            i = src.recv()
            assert i is not None
            if i % prime != 0:
                dst.send(i)

    def main() -> list[int]:
        ch: gort.Chan[int] = gort.Chan()
        gort.go(generate, ch)
        primes = []
        for _ in range(100):
            prime = ch.recv()
            assert prime is not None
            primes.append(prime)
            ch1: gort.Chan[int] = gort.Chan()
            gort.go(filt, ch, ch1, prime)
            ch = ch1
        return primes

    primes = gort.run(main)
    assert primes[:10] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    assert primes[-1] == 541 and len(primes) == 100


def test_ping_pong_ring_of_many_goroutines() -> None:
    """A token passed around a ring of 500 goroutines, 20 times."""
    def main() -> int:
        n, rounds = 500, 20
        chans: list[gort.Chan[int]] = [gort.Chan() for _ in range(n)]

        def node(i: int) -> None:
            while True:
                v = chans[i].recv()
                if v is None:
                    return
                chans[(i + 1) % n].send(v + 1)

        for i in range(1, n):
            gort.go(node, i)
        v = 0
        for _ in range(rounds):
            chans[1].send(v + 1)
            got = chans[0].recv()
            assert got is not None
            v = got
        for c in chans[1:]:
            c.close()
        return v

    assert gort.run(main) == 500 * 20


def test_fan_in_with_select_and_timeout() -> None:
    def main() -> tuple[int, int, bool]:
        a: gort.Chan[str] = gort.Chan()
        b: gort.Chan[str] = gort.Chan()
        quit_: gort.Chan[None] = gort.Chan()
        wg = WaitGroup()

        def producer(c: gort.Chan[str], name: str, n: int) -> None:
            for i in range(n):
                c.send(f"{name}{i}")
            wg.done()

        wg.add(2)
        gort.go(producer, a, "a", 30)
        gort.go(producer, b, "b", 40)
        gort.go(lambda: (wg.wait(), quit_.close()))
        na = nb = 0
        timed_out = False
        while True:
            i, _v = gort.select(a.recv, b.recv, quit_.recv_ok, gort.after(1).recv)
            if i == 0:
                na += 1
            elif i == 1:
                nb += 1
            elif i == 2:
                break
            else:
                timed_out = True
                break
        return na, nb, timed_out

    assert gort.run(main) == (30, 40, False)
