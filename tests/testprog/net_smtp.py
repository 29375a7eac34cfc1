"""Run with `gort run --net`: 20 goroutines send mail with smtplib to a small SMTP server
of this program's own (gort.socketserver, a goroutine per session), and 20 call an
xmlrpc.server.SimpleXMLRPCServer (with GoroutineMixIn) through xmlrpc.client. Each server
handler sleeps 0.1 s. Prints JSON: messages delivered intact, sums right, elapsed."""

from __future__ import annotations

import json
import smtplib
import socketserver
import time
import xmlrpc.client
import xmlrpc.server
from email.message import EmailMessage

import gort
from gort.socketserver import GoroutineMixIn, GoroutineTCPServer

N = 20
mailbox: list[tuple[str, list[str], bytes]] = []


class SMTPHandler(socketserver.StreamRequestHandler):
    """Enough of RFC 5321 for smtplib.send_message: EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        sender, rcpts = "", []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                sender, rcpts = cmd.split(":", 1)[1].strip(" <>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                time.sleep(0.1)
                mailbox.append((sender, rcpts, data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class RPCServer(GoroutineMixIn, xmlrpc.server.SimpleXMLRPCServer):
    pass


def add(a: int, b: int) -> int:
    time.sleep(0.1)
    return a + b


def main() -> None:
    smtp_srv = GoroutineTCPServer(("127.0.0.1", 0), SMTPHandler)
    rpc_srv = RPCServer(("127.0.0.1", 0), logRequests=False)
    rpc_srv.register_function(add)
    for s in (smtp_srv, rpc_srv):
        gort.go(s.serve_forever, 0.05)
    smtp_port, rpc_port = smtp_srv.server_address[1], rpc_srv.server_address[1]

    def mail(i: int) -> None:
        msg = EmailMessage()
        msg["From"] = f"a{i}@example.com"
        msg["To"] = f"b{i}@example.com"
        msg["Subject"] = f"message {i}"
        msg.set_content(f"body {i}\n" * 50)
        # local_hostname given: getfqdn() would look up this host, which may take
        # seconds where DNS is slow (a chroot).
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="client") as c:
            c.send_message(msg)

    sums: dict[int, int] = {}

    def call(i: int) -> None:
        with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{rpc_port}/") as p:
            sums[i] = p.add(i, 1000)

    t0 = time.monotonic()
    wg = gort.sync.WaitGroup()
    for i in range(N):
        wg.go(mail, i)
        wg.go(call, i)
    wg.wait()
    elapsed = time.monotonic() - t0
    intact = 0
    for sender, rcpts, data in mailbox:
        i = int(sender[1:].split("@")[0])
        intact += (rcpts == [f"b{i}@example.com"] and f"Subject: message {i}".encode() in data
                   and data.count(f"body {i}".encode()) == 50)
    for s in (smtp_srv, rpc_srv):
        s.shutdown()
        s.server_close()
    print(json.dumps({"mails": len(mailbox), "intact": intact,
                      "sums": sum(sums.get(i) == i + 1000 for i in range(N)),
                      "elapsed": elapsed}))


main()
