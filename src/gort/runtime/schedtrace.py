"""GODEBUG=schedtrace=N and scheddetail=1, in Go's format (Go: proc.go schedtrace).

Printed by sysmon every N ms on stderr, exactly as current Go prints them
(one line; wrapped here)::

    SCHED 1004ms: gomaxprocs=1 idleprocs=0 threads=3 spinningthreads=0
    needspinning=0 idlethreads=1 runqueue=0 [2]

and with scheddetail=1 the header gains ``gcwaiting= nmidlelocked= stopwait=
sysmonwait=`` and is followed by one line per P, per M and per G. Fields Go
has and gort does not (a garbage collector's, spinning Ms) print Go's idle
values, so tools that parse Go's output parse gort's. docs/godebug.md
describes every field. The reads are racy, as Go's are.
"""

from __future__ import annotations

from .g import Gstatus
from .p import Pstatus
from .sched import Sched


def _threads(s: Sched) -> tuple[int, int]:
    """(threads, idle threads): Ms, sysmon, offload workers; idle = workers waiting for work."""
    off = s.offloader
    workers = off.nthreads if off is not None else 0
    idle = off.idle if off is not None else 0
    return len(s.allm) + 1 + workers, idle  # + 1: sysmon


_ON_M = (Gstatus.RUNNING, Gstatus.SYSCALL)


def schedtrace(s: Sched, now: int, detailed: bool) -> str:
    """The lines Go's schedtrace would print at ``now`` (monotonic ns)."""
    threads, idlethreads = _threads(s)
    allp = s.allp
    head = (f"SCHED {(now - s.start_ns) // 1_000_000}ms: gomaxprocs={len(allp)} "
            f"idleprocs={sum(1 for pp in allp if pp.status != Pstatus.RUNNING)} "
            f"threads={threads} spinningthreads=0 needspinning=0 idlethreads={idlethreads} "
            f"runqueue={len(s.runq)}")
    if not detailed:
        return head + " [" + " ".join(str(pp.runqtail - pp.runqhead) for pp in allp) + "]\n"
    lines = [head + f" gcwaiting=false nmidlelocked=0 stopwait=0 "
                    f"sysmonwait={str(s.sysmonwait).lower()}"]
    for i, pp in enumerate(allp):
        m = str(pp.m.id) if pp.m is not None else "nil"
        lines.append(f"  P{i}: status={int(pp.status)} schedtick={pp.schedtick} "
                     f"syscalltick={pp.syscalltick} m={m} runqsize={pp.runqtail - pp.runqhead} "
                     f"gfreecnt={len(pp.gfree)} timerslen={len(pp.timers)}")
    for mp in s.allm:
        p = str(mp.p.id) if mp.p is not None else "nil"
        curg = str(mp.curg.goid) if mp.curg is not None else "nil"
        blocked = str(curg == "nil").lower()  # no G: the M sleeps in the netpoller
        lines.append(f"  M{mp.id}: p={p} curg={curg} mallocing=0 throwing=0 preemptoff= "
                     f"locks={mp.locks} dying=0 spinning=false blocked={blocked} lockedg=nil")
    for gp in list(s.allgs):  # dead ones too (on free lists), as Go's forEachG
        # Go's gp.m: set while the G runs or is in a syscall, dropped when it parks (dropg)
        m = str(gp.m.id) if gp.m is not None and gp.status in _ON_M else "nil"
        lines.append(f"  G{gp.goid}: status={int(gp.status)}({gp.waitreason}) m={m} lockedm=nil")
    return "\n".join(lines) + "\n"

