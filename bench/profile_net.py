"""Where a gort.net echo server's time goes: cProfile over a bench/net_echo.py load.

    python bench/profile_net.py                  # 64-byte echo, 500 connections, 3 s
    python bench/profile_net.py --conns 50 --mode stream --seconds 3

The server (bench/net_echo.py's gort handler) runs here under cProfile; the
load generator of bench/net_echo.py runs in a child process. Prints the round
trips (or MB), the system calls per round trip (or MB) and the functions
with the most own time. cProfile's overhead inflates the Python part (every
call is timed), so read the split, not the totals.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys

import gort
import gort.net as net
from gort.sync import WaitGroup

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from net_echo import CHUNK  # noqa: E402

LOAD = """
import sys
sys.path.insert(0, {here!r})
import net_echo
mode, pid, port, conns, seconds = sys.argv[1], *map(float, sys.argv[2:])
if mode == "stream":
    r = net_echo.load_stream(int(pid), int(port), int(conns), seconds)
else:
    r = net_echo.load_echo(int(pid), int(port), int(conns), seconds, None)
print(r["cpu"], r["rate"] * seconds)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["echo", "stream"], default="echo")
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--top", type=int, default=22)
    a = ap.parse_args()

    def handle(c: net.Conn, wg: WaitGroup) -> None:
        try:
            with c:
                if a.mode == "stream":
                    buf = bytearray(CHUNK)
                    view = memoryview(buf)
                    while n := c.read_into(buf):
                        c.write(view[:n])
                else:
                    while data := c.read(65536):
                        c.write(data)
        except ConnectionError:
            pass
        finally:
            wg.done()

    pr = cProfile.Profile()

    def server() -> None:
        pr.enable()  # here, not around gort.run: its start-up probes the profile hook
        ln = net.listen("tcp", "127.0.0.1:0")
        wg = WaitGroup()
        wg.add(a.conns)
        load = gort.go(gort.offload, subprocess.run,
                       [sys.executable, "-c", LOAD.format(here=HERE), a.mode, str(os.getpid()),
                        str(ln.addr.port), str(a.conns), str(a.seconds)],
                       capture_output=True, text=True, check=True)
        for _ in range(a.conns):
            gort.go(handle, ln.accept(), wg)
        wg.wait()
        ln.close()
        pr.disable()
        del load

    gort.run(server)
    st = pstats.Stats(pr)
    calls = {name: st.stats[k][1] for k in st.stats  # type: ignore[attr-defined]
             for name in ("recv", "recv_into", "send", "poll") if k[2].startswith(
                 f"<method '{name}' of ") or k[2] == f"<method '{name}' of 'select.epoll' objects>"}
    print(f"{a.mode}, {a.conns} connections, {a.seconds:g} s; system calls made: {calls}")
    out = io.StringIO()
    pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(a.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
