"""Ctrl-C landing as the runtime registers itself, in gort.run and in the implicit runtime
(issue 9): the interrupted start is undone, and the next start works.

The KeyboardInterrupt is raised right after schedinit registered the runtime, where
CPython can raise a signal handler's exception (when the call returns). Before, the
runtime stayed registered: every later gort.run failed with "a runtime is already
running on this thread", and every gort call after the implicit one failed with
"called outside any goroutine".
"""

import gort
from gort.runtime import proc

orig = proc._schedinit_locked


def interrupted(host, claim):  # type: ignore[no-untyped-def]
    orig(host, claim)
    raise KeyboardInterrupt


for what in ("gort.run", "implicit"):
    proc._schedinit_locked = interrupted
    try:
        if what == "gort.run":
            gort.run(lambda: None)
        else:
            gort.sleep(0)
    except KeyboardInterrupt:
        print(what, "interrupted")
    proc._schedinit_locked = orig
    if what == "gort.run":
        print(gort.run(lambda: "gort.run again: ok"))
ch: gort.Chan[str] = gort.Chan()
gort.go(ch.send, "implicit again: ok")
print(ch.recv())
