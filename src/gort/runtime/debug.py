"""The GODEBUG table and the other environment knobs (Go: runtime1.go dbgvars).

Read once, at start (``schedinit``), and never again; the parsed values live
on the ``Sched`` built for that run. Unknown GODEBUG keys are ignored, as Go
does; a known key with a malformed value is an error that says how to fix it.

Knobs that Go does not have are named ``GORT_*`` and documented in
docs/godebug.md next to Go's.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Final

# Go's forcePreemptNS: a G running this long without a scheduling point is preempted.
FORCE_PREEMPT_NS: Final = 10_000_000

DBGVARS: Final = ("asyncpreemptoff", "schedtrace", "scheddetail", "blockreport", "gortcheck")
_DBG_DEFAULTS: Final = {"blockreport": 1}

# Modules whose frames make a goroutine unsafe to switch out asynchronously:
# they hold thread locks or the import lock across Python code, or they are
# tracing machinery whose callbacks must not be switched out of.
DEFAULT_NOPREEMPT_MODULES: Final = (
    "threading",
    "queue",
    "logging",
    "importlib",
    "concurrent.futures",
    "bdb",
    "pdb",
    "coverage",
)


@dataclass(frozen=True)
class Debug:
    """Parsed settings for one run."""

    asyncpreemptoff: int = 0
    schedtrace: int = 0
    scheddetail: int = 0
    # blockreport=0: sysmon does not report a goroutine blocking the M in a call.
    blockreport: int = 1
    # gort's own key: check the scheduler's consistency at teardown (2: thorough).
    gortcheck: int = 0
    # GORT_PREEMPT_NS: the time slice (Go's forcePreemptNS), in nanoseconds.
    preempt_ns: int = FORCE_PREEMPT_NS
    # GORT_NOPREEMPT: extra module prefixes, comma-separated, added to the defaults.
    nopreempt_modules: tuple[str, ...] = DEFAULT_NOPREEMPT_MODULES
    # GOTRACEBACK: how much a panic or fatal error prints (Go's levels).
    gotraceback: str = "single"


# Go's GOTRACEBACK values (runtime1.go setTraceback), numbers included.
GOTRACEBACK_LEVELS: Final = {"none": "none", "0": "none", "single": "single", "": "single",
                             "1": "single", "all": "all", "system": "system", "2": "system",
                             "crash": "crash"}


def parse_gotraceback(raw: str) -> str:
    """GOTRACEBACK's value as one of none, single, all, system, crash."""
    level = GOTRACEBACK_LEVELS.get(raw.strip().lower())
    if level is None:
        raise ValueError(f"GOTRACEBACK={raw!r} is not a traceback level; use none, single "
                         "(the default), all, system or crash (or 0, 1, 2)")
    return level


def parsedebugvars(godebug: str) -> dict[str, int]:
    """Parse a GODEBUG string (``key=value,key=value``) into the known keys."""
    vals = {k: _DBG_DEFAULTS.get(k, 0) for k in DBGVARS}
    for item in godebug.split(","):
        key, sep, value = item.strip().partition("=")
        if key not in vals:
            continue  # unknown keys are ignored, as in Go
        if not sep or not value.strip().isdigit():
            raise ValueError(
                f"GODEBUG: {key}={value!r} is not a non-negative integer; "
                f"write e.g. GODEBUG={key}=1 or leave it out"
            )
        vals[key] = int(value)
    return vals


def _positive_int_env(name: str, raw: str, example: str) -> int:
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"{name}={raw!r} is not a positive integer; set e.g. {name}={example} or unset it"
        )
    return n


def read_env(environ: dict[str, str] | None = None) -> Debug:
    """Read GODEBUG and the GORT_* knobs from the environment."""
    env = os.environ if environ is None else environ
    vals = parsedebugvars(env.get("GODEBUG", ""))
    preempt_ns = FORCE_PREEMPT_NS
    raw = env.get("GORT_PREEMPT_NS")
    if raw:  # unset or empty: the default, as GOMAXPROCS and GORT_SEED
        preempt_ns = _positive_int_env("GORT_PREEMPT_NS", raw, "10000000")
    extra = tuple(m.strip() for m in env.get("GORT_NOPREEMPT", "").split(",") if m.strip())
    gotraceback = parse_gotraceback(env.get("GOTRACEBACK", ""))
    return Debug(
        asyncpreemptoff=vals["asyncpreemptoff"],
        schedtrace=vals["schedtrace"],
        scheddetail=vals["scheddetail"],
        blockreport=vals["blockreport"],
        gortcheck=vals["gortcheck"],
        preempt_ns=preempt_ns,
        nopreempt_modules=DEFAULT_NOPREEMPT_MODULES + extra,
        gotraceback=gotraceback,
    )


def gil_enabled() -> bool:
    """True on the usual GIL build; False on a free-threaded build with the GIL off."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


# Go's _MaxGomaxprocs: more Ps than this is refused.
MAX_GOMAXPROCS: Final = 1024


def initial_gomaxprocs(environ: dict[str, str] | None = None) -> int:
    """GOMAXPROCS from the environment, else 1 on GIL builds, else the CPU count."""
    env = os.environ if environ is None else environ
    raw = env.get("GOMAXPROCS")
    if raw is not None and raw != "":
        n = _positive_int_env("GOMAXPROCS", raw, "1")
        if n > MAX_GOMAXPROCS:
            raise ValueError(f"GOMAXPROCS={raw!r} is more than {MAX_GOMAXPROCS} Ps (Go's "
                             "limit); set at most that, e.g. GOMAXPROCS=1")
        return n
    return 1 if gil_enabled() else (os.cpu_count() or 1)


def read_seed(environ: dict[str, str] | None = None) -> int | None:
    """GORT_SEED, select's random seed for replaying a run; None when unset or empty."""
    env = os.environ if environ is None else environ
    raw = env.get("GORT_SEED")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(f"GORT_SEED={raw!r} is not a non-negative integer; set it to the "
                         "seed a failing run printed, e.g. GORT_SEED=42, or unset it")
    return int(raw)
