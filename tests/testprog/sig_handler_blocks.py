"""A handler run in the handlers' goroutine (the signal caught while main was parked)
may block, as a handler in a thread may. argv[1]:
- "shutdown": the threads-era graceful stop, signal.signal(SIGTERM, lambda *a:
  server.shutdown()) with serve_forever in a goroutine (it raised "a blocking call in a
  signal handler" and the server never stopped);
- "parked-at-end": the run ends while the handler is parked (the release at the end
  took its GreenletExit for the handler's exception and ran on into a deadlock).
"""
import http.server
import os
import signal
import sys
import threading

import gort
import gort.socketserver as gss


def shutdown() -> None:
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

    s = gss.GoroutineHTTPServer(("127.0.0.1", 0), H)
    done = threading.Event()
    stopped = gort.Chan(1)

    def serve() -> None:
        s.serve_forever(poll_interval=0.05)
        done.set()

    def on_term(signum: int, frame: object) -> None:
        s.shutdown()  # waits for serve_forever to stop
        stopped.send("shutdown returned")

    gort.go(serve)
    signal.signal(signal.SIGTERM, on_term)
    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
    print("serve_forever ended:", done.wait(30))
    print(stopped.recv())
    s.server_close()


def parked_at_end() -> None:
    ch: gort.Chan[int] = gort.Chan()

    def on_term(signum: int, frame: object) -> None:
        print("handler parks", flush=True)
        ch.recv()

    signal.signal(signal.SIGTERM, on_term)
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
    gort.sleep(0.5)
    print("main done")


{"shutdown": shutdown, "parked-at-end": parked_at_end}[sys.argv[1]]()
