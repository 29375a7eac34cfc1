"""Written as for plain python: def main + gort.run(main). Must work under gort run too."""

import contextvars
import sys

import gort

cv = contextvars.ContextVar("cv", default="unset")


def main(n):
    assert gort.current_id() == 1
    cv.set("in main")
    ch = gort.Chan()
    gort.go(lambda: ch.send(n * 2))
    v = ch.recv()
    try:
        gort.run(lambda: None)
    except RuntimeError as e:
        print("nested:", "already running" in str(e))
    if "--panic" in sys.argv:
        raise ValueError("from main")
    return v


cv.set("caller")
print("result", gort.run(main, 21), cv.get())
