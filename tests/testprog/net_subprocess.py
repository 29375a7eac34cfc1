"""Under `gort run --net`: subprocess from goroutines. 20 `subprocess.run` of a 0.2 s child
at once (Popen.wait's os.waitpid parks each goroutine: serially they take 4 s), then
`wc -c` reading a socket that a goroutine feeds in slow pieces (the child used to read
EAGAIN and stop at the first piece). Prints JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import gort
import gort.sync


def main() -> None:
    t0 = time.monotonic()
    wg = gort.sync.WaitGroup()
    codes: list[int] = []
    for i in range(20):
        wg.add(1)

        def one(i: int = i) -> None:
            try:
                codes.append(subprocess.run(["sh", "-c", f"sleep 0.2; exit {i % 3}"],
                                            check=False).returncode)
            finally:
                wg.done()

        gort.go(one)
    wg.wait()
    elapsed = time.monotonic() - t0
    a, b = socket.socketpair()

    def feed() -> None:
        for _ in range(5):
            b.sendall(b"x" * 10000)
            time.sleep(0.02)
        b.shutdown(socket.SHUT_WR)

    gort.go(feed)
    r = subprocess.run(["wc", "-c"], stdin=a, capture_output=True, timeout=30, check=False)
    print(json.dumps({"elapsed": elapsed, "codes": sorted(codes),
                      "wc": r.stdout.decode().strip(), "wc_status": r.returncode,
                      "wc_err": r.stderr.decode()}))


main()
