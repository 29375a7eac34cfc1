"""Imported by import_spin.py: its top level spins for a while, under the import lock."""
import time

_end = time.monotonic() + 0.2
n = 0
while time.monotonic() < _end:
    n += 1
VALUE = 42
