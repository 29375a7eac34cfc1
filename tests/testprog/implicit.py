"""A plain script: the first gort call starts the runtime with the script as goroutine 1."""
import gort
from gort.sync import WaitGroup

c = gort.Chan(10)
wg = WaitGroup()
for i in range(10):
    wg.add(1)
    gort.go(lambda i=i: (c.send(i), wg.done()))
wg.wait()
c.close()
print(gort.current_id(), gort.num_goroutine() + 2)
print("sum", sum(c))
gort.go(lambda: gort.Chan().recv())  # abandoned at exit, as in Go
print("done")
