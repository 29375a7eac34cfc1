"""Three blocked goroutines and a spinner; the test sends SIGQUIT."""
import gort
from gort.sync import Mutex

c = gort.Chan()
mu = Mutex()
mu.lock()


def receiver():
    c.recv()


def locker():
    mu.lock()


def sleeper():
    gort.sleep(600)


def spinner():
    while True:
        pass


gort.go(receiver)
gort.go(locker)
gort.go(sleeper)
gort.go(spinner)
gort.sleep(0.05)
print("READY", flush=True)
c.recv()
