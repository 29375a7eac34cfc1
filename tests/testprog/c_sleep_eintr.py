"""Foreign C calls that block (ctypes nanosleep, poll) never see EINTR from gort.

One goroutine calls them while another spins; gort must interrupt no system call of
the M (nanosleep and poll are not restarted under SA_RESTART); sysmon sees the M
blocked in C (its thread CPU clock stands still).
"""
import ctypes
import ctypes.util
import sys

import gort

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


results = []


def blocker(done):
    req = Timespec(0, 300_000_000)
    rem = Timespec()
    r = libc.nanosleep(ctypes.byref(req), ctypes.byref(rem))
    results.append(("nanosleep", r, ctypes.get_errno() if r else 0))
    r = libc.poll(None, 0, 300)
    results.append(("poll", r, ctypes.get_errno() if r else 0))
    done.send(None)


def spinner():
    while True:
        pass


done = gort.Chan()
gort.go(spinner)
gort.go(blocker, done)
done.recv()
st = gort.stats()
bad = [r for r in results if r[1] != 0]
print(f"calls {len(results)} failed {bad} blocked_looks {st['blocked_looks'] > 0}")
sys.exit(1 if bad else 0)
