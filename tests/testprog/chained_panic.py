"""A goroutine raises while handling another exception: Go's nested panic lines."""

import gort


def lookup():
    try:
        {}["k"]
    except KeyError:
        raise ValueError("lookup failed")  # noqa: B904 (the implicit chain is the point)


gort.go(lookup)
gort.sleep(5)
