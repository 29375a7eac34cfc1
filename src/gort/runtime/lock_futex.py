"""The runtime's own locks and notes (Go: lock_futex.go's mutex and note).

gort makes ``threading.Lock``, ``_thread.allocate_lock`` and the rest
goroutine-aware when ``gort`` is imported (threadlock.py): a goroutine that
waits for one of those parks instead of blocking the thread. The runtime's
own state must never be guarded that way. A lock taken inside the scheduler
(``Sched.lock``, the netpoller's) is held for a few bytecodes and may be
wanted while a goroutine is current (``goready`` from a goroutine); parking
there would re-enter the scheduler from inside itself. So the runtime takes
its locks from here: the factories as CPython made them, captured when this
module is imported, which is before threadlock patches anything (gort's
package imports the runtime first, then patches).

Invariants:
  - ``mutex()`` is always CPython's ``_thread.allocate_lock``, whatever the
    ``_thread`` module's attribute says later;
  - a ``Note`` is "woken" or "clear"; ``wakeup`` may come from any thread and
    any number of times; ``tsleep`` returns True once it is woken, False at
    the timeout; only its one sleeper clears it (Go: one sleeper per note).

Note is ``threading.Event`` with no Condition: the Event's own lock would be
a patched, goroutine-aware one, and the M sets sysmon's note from scheduler
code. Its state is one raw lock, held while the note is clear, so a wakeup
is one C call (a release) and a sleep is one timed acquire. Rejected: an
Event made from raw locks by swapping ``threading.Lock`` around its
construction (another thread making a lock at that moment would get a
plain one); a pipe (two syscalls per wakeup, and a descriptor to close).
"""

from __future__ import annotations

import _thread
from typing import Final

mutex: Final = _thread.allocate_lock
"""CPython's own lock factory, unpatched: the runtime's locks come from here."""


class Note:
    """A one-sleeper wake-up flag (Go's note): ``clear``, ``wakeup``, ``tsleep``."""

    __slots__ = ("_clear",)

    def __init__(self) -> None:
        self._clear = mutex()  # locked while the note is clear; free once woken
        self._clear.acquire()

    def clear(self) -> None:
        """Go's noteclear: the next tsleep waits for a new wakeup (sleeper only)."""
        self._clear.acquire(False)

    def wakeup(self) -> None:
        """Go's notewakeup: wake the sleeper, now or when it next sleeps (any thread)."""
        try:
            self._clear.release()
        except RuntimeError:
            pass  # already woken

    def tsleep(self, timeout: float | None) -> bool:
        """Go's notetsleep: wait until woken (True) or ``timeout`` seconds pass (False).

        ``None`` waits for good. The note stays woken after it returns True.
        """
        if not self._clear.acquire(True, -1 if timeout is None else timeout):
            return False
        try:
            self._clear.release()  # stay woken
        except RuntimeError:
            pass  # a wakeup between the acquire and here released it already
        return True
