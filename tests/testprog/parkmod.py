"""A module whose top level parks: imported by tl_import_park.py."""
import gort

STARTED = True
gort.sleep(0.02)
VALUE = 42
