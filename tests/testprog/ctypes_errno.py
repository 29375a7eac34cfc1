"""ctypes' saved errno (use_errno=True) is kept per thread: two goroutines that each make
a failing foreign call, compute (a preemption lands there) and read ctypes.get_errno()
must each read their own call's errno, as threads do (adversarial F3). Prints OK."""
import ctypes
import errno

import gort

libc = ctypes.CDLL(None, use_errno=True)
libc.close.argtypes = [ctypes.c_int]
libc.chdir.argtypes = [ctypes.c_char_p]
bad = []


def w(k):
    for _ in range(300):
        if k == 0:
            libc.close(-1)  # EBADF
        else:
            libc.chdir(b"/nonexistent/dir")  # ENOENT
        x = 0
        for j in range(2000):  # a preemption lands here
            x += j
        e = ctypes.get_errno()
        if e != (errno.EBADF if k == 0 else errno.ENOENT):
            bad.append((k, e))


wg = gort.sync.WaitGroup()
wg.go(w, 0)
wg.go(w, 1)
wg.wait()
print("OK" if not bad else f"FAIL {len(bad)}/600 wrong errno, e.g. {bad[:3]}")
