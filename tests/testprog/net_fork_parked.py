"""fork while goroutines are parked in a read and an accept (issue 11 adversarial pass):
those goroutines stay behind with the FDs' per-direction turns; the child's own read and
accept on the same Conn and Listener waited for those turns forever (a false deadlock)."""
import os
import time

import gort
import gort.net as net


def main():
    ln = net.listen("tcp", "127.0.0.1:0")
    c = net.dial("tcp", str(ln.addr))
    s = ln.accept()
    got = gort.Chan(2)
    gort.go(lambda: got.send(s.read(10)))  # parked in read at the fork
    gort.go(lambda: got.send(ln.accept().remote_addr))  # parked in accept
    gort.sleep(0.05)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            s.set_read_deadline(time.monotonic() + 5)
            c.write(b"fromchild")
            print("child read", s.read(10).decode(), flush=True)
            ln.set_deadline(time.monotonic() + 5)
            x = net.dial("tcp", str(ln.addr))
            print("child accept", ln.accept().remote_addr == x.local_addr, flush=True)
        except BaseException as e:
            print("child failed", type(e).__name__, e, flush=True)
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)  # blocking: the parent's accept must not take the child's dial
    print("child status", os.waitstatus_to_exitcode(status), flush=True)
    c.write(b"toparent")
    print("parent read", got.recv().decode(), flush=True)


gort.run(main)
