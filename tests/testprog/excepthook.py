"""The program's sys.excepthook is called for the exception that ends it (issue 9).

argv[1]: what ends the program: ``main`` (main raises), ``goroutine`` (a
goroutine's panic), ``deadlock``. argv[2]: the hook: ``own`` (prints one line
only, as a crash reporter that replaces the report), ``chain`` (prints its
line, then calls the hook it replaced, as sentry does: gort's Go-style
report), ``raises`` (the hook itself fails), ``early`` (``own``, installed
before gort is imported). The hook is installed after the runtime started
(except ``early``), so the implicit runtime's own hook is the one it replaces.
"""

import sys

where, kind = sys.argv[1], sys.argv[2]


def hook(tp: type[BaseException], value: BaseException, tb: object) -> None:
    print(f"hook: {tp.__name__}: {value} tb={tb is not None}", file=sys.stderr)
    if kind == "raises":
        raise OSError("reporter offline")
    if kind == "chain":
        old(tp, value, tb)


if kind == "early":
    sys.excepthook = hook

import gort  # noqa: E402

gort.sleep(0)  # the implicit runtime starts here under plain python
if kind != "early":
    old = sys.excepthook
    sys.excepthook = hook


def boom() -> None:
    raise ValueError("in goroutine")


if where == "goroutine":
    gort.go(boom)
    gort.sleep(5)
elif where == "deadlock":
    gort.Chan().recv()
raise ValueError("in main")
