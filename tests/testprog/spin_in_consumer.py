"""A goroutine spins, waiting for another to set a flag, in code entered from a C
function that holds nothing: exec/eval of a snippet, a generator consumed whole by a
builtin (any, sum, list, "".join). Threads: the setter runs and the spinner stops; gort
hung (rule 3 deferred the preemption until the C function returned: never). argv[1]:
the form. Prints OK."""
import itertools
import sys

import gort

HOW = sys.argv[1]
flag = [False]


def spinner():
    if HOW == "exec":
        exec("while not flag[0]:\n    pass", {"flag": flag})
    elif HOW == "eval":
        eval("[0 for _ in iter(lambda: flag[0], True)]", {"flag": flag})
    elif HOW == "any":
        any(flag[0] for _ in itertools.count())
    elif HOW == "sum":
        sum(1 for _ in itertools.takewhile(lambda _: not flag[0], itertools.count()))
    elif HOW == "list":
        list(None for _ in itertools.takewhile(lambda _: not flag[0], itertools.count())  # noqa: C400
             if False)
    elif HOW == "join":
        "".join("" for _ in itertools.takewhile(lambda _: not flag[0], itertools.count()))


def setter():
    flag[0] = True


def main():
    wg = gort.sync.WaitGroup()
    wg.go(spinner)
    gort.sleep(0.001)
    wg.go(setter)
    wg.wait()
    print("OK")


gort.run(main)
