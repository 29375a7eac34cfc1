"""main returns while a goroutine is parked inside a logging handler's emit, the
handler's RLock held (issue 8 adversarial pass): logging.shutdown at exit takes that
lock; the abandoned goroutine never releases it, and the process hung there."""
import logging
import threading

import gort

slock = threading.Lock()


class Stream:
    def write(self, s):
        with slock:  # contended: the writer parks here, holding the handler's RLock
            pass

    def flush(self):
        pass


log = logging.getLogger("abandoned")
log.addHandler(logging.StreamHandler(Stream()))
log.propagate = False


def hog():
    with slock:
        gort.sleep(10)


def main():
    gort.go(hog)
    gort.sleep(0.001)
    gort.go(log.warning, "hello")
    gort.sleep(0.01)
    print("main returns", flush=True)


gort.run(main)
print("after run", flush=True)
