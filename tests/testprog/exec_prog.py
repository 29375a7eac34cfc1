"""gort.exec in a whole program run by `gort run` (the implicit runtime).

A goroutine waiting for a child shows Go's wait reason in the goroutine dump
(the pidfd is in the netpoller); `yes | head -n 3` through a pipe; SIGCHLD
keeps its default disposition throughout. Prints one fact per line.
"""

import signal

import gort
import gort.exec as gexec

c = gexec.command("sleep", "10")
c.start()
done = gort.Chan[str](1)


def waiter() -> None:
    try:
        c.wait()
        done.send("exit 0?")
    except gexec.ExitError as e:
        done.send(f"waiter: {e}")


gort.go(waiter)
gort.sleep(0.05)
dump = gort.stack()
print("waiter in IO wait:", "[IO wait]:" in dump)
assert c.process is not None
c.process.kill()
print(done.recv())

yes = gexec.command("yes")
head = gexec.command("head", "-n", "3")
r = yes.stdout_pipe()
head.stdin = r
yes.start()
out = head.output()
r.close()
try:
    yes.wait()
except gexec.ExitError as e:
    print("yes:", e)
print("head:", out.decode().split())
print("SIGCHLD default:", signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL)
