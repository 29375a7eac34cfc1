"""A goroutine recurses without end: the panic report folds the repeated frames."""

import gort


def down(n):
    return down(n + 1)


gort.go(down, 0)
gort.sleep(5)
