"""A goroutine joins a plain thread that starts a goroutine (gort.go from a thread runs
on the M: cgocallback). The join must let the M go: 3.13's Thread.join waits in C
(_thread._ThreadHandle.join), which blocked the M for good (the thread waited for the
M, the M for the thread). Prints OK."""
import threading
import time

import gort

ran = gort.Chan(1)


def thread_body():
    time.sleep(0.1)  # the goroutine is in join by then
    gort.go(ran.send, "goroutine from a thread")


def main():
    t = threading.Thread(target=thread_body)
    t.start()
    t.join()
    print(ran.recv())
    print("OK")


gort.run(main)
