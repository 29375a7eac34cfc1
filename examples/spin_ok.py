"""The program gort exists for (Go's own preemption example, in Python).

A goroutine spins without ever calling gort; the main goroutine sleeps 1 ms
and prints OK. With asynchronous preemption sysmon stops the spinner after
its 10 ms slice and OK appears; with GODEBUG=asyncpreemptoff=1 it never does.

    gort run examples/spin_ok.py
"""

import gort

gort.gomaxprocs(1)


def spin():
    while True:
        pass


gort.go(spin)
gort.sleep(0.001)
print("OK")
