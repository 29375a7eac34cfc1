"""200 runs, each abandoning goroutines parked in an accept and in a read inside try and
with blocks (kept for the life of the process, abandon.py): the process's descriptor
count must stay flat (it grew by 2 a run: their sockets stayed open), the sockets read
as closed, and the peer of an abandoned connection sees it closed. Run with plain python
(module=False): gort.run is called repeatedly."""

import os
import socket
import sys

import gort
import gort.net as net
from gort.runtime import abandon

held: list[net.Conn] = []
raw_ln = socket.create_server(("127.0.0.1", 0))  # a plain socket: the abandoned Conn's peer


def nfds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main(i: int) -> None:
    ln = net.listen("tcp", "127.0.0.1:0")

    def acc() -> None:
        try:
            ln.accept()
        finally:
            print("never runs")

    gort.go(acc)
    if i == 0:
        c = net.dial("tcp", f"127.0.0.1:{raw_ln.getsockname()[1]}")
    else:
        peer = net.listen("tcp", "127.0.0.1:0")
        c = net.dial("tcp", str(peer.addr))
        held.append(peer.accept())  # the other end, left open by main
        peer.close()

    def rd() -> None:
        with c:
            c.read(10)

    gort.go(rd)
    for _ in range(3):
        gort.gosched()  # acc and rd run until they park
    if i == 0:
        held.insert(0, c)


counts = []
for i in range(200):
    gort.run(main, i)
    counts.append(nfds())
c, s = held[0], held[-1]
print("kept", abandon.kept())
print("fds", counts[1], counts[100], counts[-1])
print("fileno", c.fileno(), s.fileno())
raw, _ = raw_ln.accept()
raw.settimeout(10)
print("peer reads", raw.recv(10))


def after() -> str:
    try:
        s.read(1)
    except net.ErrClosed as e:
        return str(e)
    return "no error"


print("old conn:", gort.run(after))
sys.stdout.flush()
