"""Plain python: a socket made and time.sleep bound before gort.patch.net(); the patch
warns naming both, and patches the rest. Prints what is patched afterwards."""

from __future__ import annotations

import json
import socket
from time import sleep

import gort.patch
import gort.socket

early = socket.socket()
gort.patch.net()
gort.patch.net()  # idempotent: no second warning
late = socket.socket()
print(json.dumps({
    "early_plain": type(early) is not gort.socket.socket,
    "late_gort": type(late) is gort.socket.socket,
    "sleep_still_std": sleep.__module__ == "time",
    "patched": gort.patch.patched(),
}))
early.close()
late.close()
