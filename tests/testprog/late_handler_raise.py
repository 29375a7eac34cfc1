"""A signal that comes while the run's end releases an abandoned goroutine (issue 9).

The goroutine holds an object whose finalizer sends SIGUSR1 to the process; releasing
the goroutine runs it. The program's handler must run after the release, on the
releasing side (before, CPython ran it inside the goroutine being released, whose
unwinding swallowed or garbled its exception), and its exception must not take the
place of main's panic (before, the panic's report was lost: "panic: Late", or in plain
python "Error in sys.excepthook" and status 1).
argv[1] "raise": main panics: its report and status 2, the handler's exception reported
as ignored. "return": main returns: the handler's exception is how the run ends, as a
Ctrl-C at the end would be.
"""

import inspect
import os
import signal
import sys

import gort


class Late(Exception):
    pass


def handler(signum, frame):  # type: ignore[no-untyped-def]
    inside = any(f.function == "__del__" for f in inspect.stack())
    print("handler inside the release:", inside, file=sys.stderr)
    raise Late("from the handler")


signal.signal(signal.SIGUSR1, handler)


class Kills:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGUSR1)


def worker() -> None:
    k = Kills()  # noqa: F841 (released with the goroutine)
    gort.Chan().recv()


def main() -> None:
    gort.go(worker)
    gort.sleep(0.01)
    if sys.argv[1] == "raise":
        raise ValueError("the panic")


main()
