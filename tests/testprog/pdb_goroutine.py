"""pdb in a goroutine while another spins and preemption is active."""
import gort


def spin():
    while True:
        pass


def debugged(done):
    x = 41
    breakpoint()
    x += 1
    print("x is", x)
    done.send(x)


gort.go(spin)
done = gort.Chan()
gort.go(debugged, done)
print("result", done.recv())
