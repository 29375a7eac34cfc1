import gort
from gort.sync import WaitGroup

wg = WaitGroup()
wg.add(1)
c = gort.Chan()
gort.go(wg.wait)
c.recv()
