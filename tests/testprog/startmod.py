"""Imported by tl_import_implicit.py: its top level starts the runtime (implicitly), and a
goroutine it starts imports this module while the import is still running."""
import gort
from gort.sync import WaitGroup

wg = WaitGroup()
got = []


def importer():
    import startmod

    got.append(getattr(startmod, "VALUE", "partial"))
    wg.done()


wg.add(1)
gort.go(importer)
gort.sleep(0.01)  # the importer runs now, while this module is half-initialised
VALUE = 42
