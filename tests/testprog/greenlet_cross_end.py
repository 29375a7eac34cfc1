"""A greenlet made in goroutine A (A then ends, or parks for good) is finished by main;
the run then ends with A's greenlet still waiting where the value came through it
(adversarial pass: a fatal "no greenlet to take what came with it" at exit). argv[1]:
``ended`` or ``parked``; prints OK."""
import sys

import greenlet

import gort


def main() -> None:
    ch: gort.Chan[greenlet.greenlet] = gort.Chan(1)

    def a() -> None:
        def child(x: int) -> int:
            parent = greenlet.getcurrent().parent
            assert parent is not None
            y = parent.switch(x)
            return y * 3

        g = greenlet.greenlet(child)
        g.switch(1)
        ch.send(g)
        if sys.argv[1] == "parked":
            gort.Chan().recv()

    gort.go(a)
    g = ch.recv()
    r = g.switch(5)
    print("OK" if r == 15 else f"WRONG {r}")


gort.run(main)
