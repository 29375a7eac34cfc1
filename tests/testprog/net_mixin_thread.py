"""gort.socketserver servers as programs start them outside goroutines. argv[1]:
- "thread": GoroutineHTTPServer.serve_forever in a background thread, plain python, five
  clients at once from other threads (every request was dropped: go() had no runtime);
- "idle": under gort run, patched, shutdown and server_close with a keep-alive client and a
  silent one still connected (server_close waited for them for good).
"""
import http.client
import http.server
import socket
import sys
import threading
import time
import urllib.request
import warnings

import gort.socketserver as gss
from gort.runtime import PreemptionWarning


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a: object) -> None:
        pass


def thread() -> None:
    warnings.simplefilter("ignore", PreemptionWarning)  # a runtime off the main thread
    s = gss.GoroutineHTTPServer(("127.0.0.1", 0), H)
    server = threading.Thread(target=s.serve_forever)
    server.start()
    got = []

    def client() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{s.server_address[1]}/",
                                    timeout=30) as r:
            got.append(r.read())

    clients = [threading.Thread(target=client) for _ in range(5)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    s.shutdown()
    s.server_close()
    server.join()
    print("got", got)


def idle() -> None:
    import gort.patch

    gort.patch.net()  # the clients' sockets park too
    s = gss.GoroutineHTTPServer(("127.0.0.1", 0), H)
    gort.go(s.serve_forever)
    c = http.client.HTTPConnection("127.0.0.1", s.server_address[1], timeout=30)
    c.request("GET", "/")
    print("resp", c.getresponse().read())
    silent = socket.create_connection(s.server_address)
    gort.sleep(0.1)
    s.shutdown()
    t0 = time.monotonic()
    s.server_close()
    print("server_close waited", time.monotonic() - t0 > 5)
    c.close()
    silent.close()


{"thread": thread, "idle": idle}[sys.argv[1]]()
