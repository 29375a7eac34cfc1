"""Reading a running thread's value stack while that thread runs (sysmon's reads).

A worker thread calls temporaries in a loop (their callables and arguments freed as
each call returns) and enters ``with`` blocks, while this thread reads the worker's
frame as sysmon does, with a tiny switch interval so the GIL changes hands between
any two of the reader's calls. A read split from its reference-taking crashed here
(stop 19's CI). argv[1]: seconds to run (default 3); argv[2]: "on" leaves automatic
collection on (a collection's finalizers, run inside an allocation on 3.11, may let the
worker run), "off" (default) turns it off as a run does. Prints whether reads were made.
"""
import gc
import sys
import threading
import time

from gort.runtime import preempt, symtab


class Manager:
    def __init__(self) -> None:
        self.cycle = self  # garbage for the collector, with a finalizer

    def __del__(self) -> None:
        pass

    def __enter__(self) -> "Manager":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def make() -> object:
    return lambda *a: [a]


def work(stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        make()(object(), [n])
        (lambda x: x)([n] * 3)
        (lambda *a: None)(object())  # None replaces the NULL below the callable
        with Manager():
            str([n]).upper()
        "-".join([str(n), str(n)]).split("-")
        n += 1


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    if (sys.argv[2] if len(sys.argv) > 2 else "off") == "off":
        gc.disable()  # as during a run
    sys.setswitchinterval(1e-6)
    stop = threading.Event()
    t = threading.Thread(target=work, args=(stop,))
    t.start()
    reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(t.ident or 0)
        while frame is not None and frame.f_code is not work.__code__:
            frame = frame.f_back
        if frame is None:
            continue
        symtab.stack_callee(frame)
        preempt.lock_wait_at(frame)
        symtab.with_managers(frame)
        symtab.entering_manager(frame, (Manager,))
        symtab.frame_values(frame)
        reads += 1
    stop.set()
    t.join()
    print("reads", reads > 1000)


main()
