"""A handler raising while the program's panic is reported (issue 9).

Once main panics, the run is over and the program's handlers run raw again. Here the
report's own write to stderr sends SIGUSR1 to the process, so the program's handler
raises in the middle of the report. Plain python must end as `gort run` does: status
2, the handler's exception reported as ignored (before: "Error in sys.excepthook" and
status 1).
"""

import os
import signal
import sys

import gort


class Late(Exception):
    pass


def handler(signum, frame):  # type: ignore[no-untyped-def]
    raise Late("from the handler")


class Stderr:
    def __init__(self, f):  # type: ignore[no-untyped-def]
        self.f = f
        self.sent = False

    def write(self, text: str) -> int:
        if not self.sent and "panic:" in text:
            self.sent = True
            os.kill(os.getpid(), signal.SIGUSR1)  # the handler runs as kill returns
        return self.f.write(text)

    def flush(self) -> None:
        self.f.flush()


signal.signal(signal.SIGUSR1, handler)
gort.sleep(0.001)  # the implicit runtime runs
sys.stderr = Stderr(sys.stderr)  # type: ignore[assignment]
raise ValueError("the panic")
