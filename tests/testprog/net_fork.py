"""os.fork() with sockets open: the child gets its own epoll, its sockets re-registered.

The parent runs an echo server. After the fork the parent writes to a connection made
before it; the child reads that (its copy of the descriptor, now in its own poller),
then dials the parent's echo server. The parent waits for the child, then dials too.
"""

import os
import sys

import gort
import gort.net as net

ln = net.listen("tcp", "127.0.0.1:0")


def handle(c: net.Conn) -> None:
    with c:
        d = c.read(100)
        c.write(b"echo:" + d)


def accept_loop() -> None:
    while True:
        try:
            c = ln.accept()
        except net.ErrClosed:
            return
        gort.go(handle, c)


got: gort.Chan[net.Conn] = gort.Chan(1)
gort.go(lambda: got.send(ln.accept()))
pre = net.dial("tcp", str(ln.addr))
pre_srv = got.recv()
assert pre_srv is not None
gort.go(accept_loop)  # after: the connection above is not the echo server's


def ask(word: bytes) -> bytes:
    with net.dial("tcp", str(ln.addr), timeout=10) as c:
        c.write(word)
        return c.read(100)


pid = os.fork()
if pid == 0:
    pre.set_read_deadline(None)
    d = pre.read(3)
    print("child", d.decode(), ask(b"child").decode())
    sys.stdout.flush()
    os._exit(0)
pre_srv.write(b"pre")
_, status = gort.offload(os.waitpid, pid, 0)
print("parent", ask(b"parent").decode(), "status", os.waitstatus_to_exitcode(status))
ln.close()
