"""Plain python: a socket made, time.sleep bound and subclasses of socket.socket and
ssl.SSLSocket defined before gort.patch.net(); the patch warns naming them, and patches
the rest. Prints what is patched afterwards."""

from __future__ import annotations

import json
import socket
import ssl
from time import sleep

import gort.patch
import gort.socket


class EarlySock(socket.socket):
    pass


class EarlyTLS(ssl.SSLSocket):
    pass


early = socket.socket()
gort.patch.net()
gort.patch.net()  # idempotent: no second warning


class LateSock(socket.socket):
    pass


late = socket.socket()
print(json.dumps({
    "early_plain": type(early) is not gort.socket.socket,
    "late_gort": type(late) is gort.socket.socket,
    "sleep_still_std": sleep.__module__ == "time",
    "patched": gort.patch.patched(),
    "early_class_plain": not issubclass(EarlySock, gort.socket.socket),
    "late_class_gort": issubclass(LateSock, gort.socket.socket),
}))
early.close()
late.close()
