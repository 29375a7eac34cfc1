"""A C wait that happens to be called ``acquire`` (a ctypes sem_wait, as posix_ipc's
Semaphore.acquire) while another goroutine is runnable: sysmon's lock-wait recovery
must not signal it (the wait would fail with EINTR); only _thread locks retry.
"""
import ctypes
import errno
import functools
import threading

import gort

libc = ctypes.CDLL(None, use_errno=True)
sem = ctypes.create_string_buffer(64)
assert libc.sem_init(sem, 0, 0) == 0


class CSem:
    acquire = None


s = CSem()
s.acquire = functools.partial(libc.sem_wait, sem)


def spin():
    while True:
        pass


def main():
    gort.go(spin)
    gort.sleep(0.001)  # the spinner is runnable while main blocks in sem_wait
    threading.Timer(0.3, libc.sem_post, (sem,)).start()
    r = s.acquire()
    e = ctypes.get_errno()
    print(f"sem_wait {r} {errno.errorcode.get(e, e) if r else ''}".strip(), flush=True)


gort.run(main)
