"""gort against the systems people would pick instead, in one run.

    pip install '.[bench]'                   # gevent, trio, uvloop (asyncio, threads: stdlib)
    python bench/run.py docs/benchmarks.md   # about 4 minutes on 2 cores
    python bench/run.py /tmp/b.md --quick    # under a minute

Every (benchmark, system) pair runs in a fresh process (bench/cases.py, or
bench/go for Go when a ``go`` toolchain is on PATH). Systems alternate within
each repetition, so drift of the machine hits them alike; the table shows
medians and ratios, OUT.json (next to OUT.md) every raw number, and the
targets of issue 5 with whether they hold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


@dataclass
class Bench:
    name: str
    title: str
    key: str  # the number compared, in each case's JSON
    unit: str
    systems: tuple[str, ...]
    arg: float
    quick_arg: float
    reps: int
    quick_reps: int
    note: str = ""


BENCHES = [
    Bench("pingpong", "Ping-pong: round trip over an unbuffered channel", "ns_per_op", "ns",
          ("gort", "gort-pure", "greenlet", "asyncio", "uvloop", "gevent", "trio", "threads",
           "go"), 50_000, 10_000, 5, 3),
    Bench("buffered", "Buffered channel (cap 128), one producer, one consumer", "ns_per_op",
          "ns/item", ("gort", "gort-pure", "asyncio", "uvloop", "gevent", "trio", "threads",
                      "go"),
          200_000, 40_000, 5, 3),
    Bench("spawn", "Spawn: start and finish 100 000", "us_per_op", "us each",
          ("gort", "gort-pure", "greenlet", "asyncio", "uvloop", "gevent", "trio", "threads",
           "go"), 100_000, 20_000, 5, 2, "threads: 10 000"),
    Bench("memory", "Memory: RSS per parked goroutine, 100 000 parked", "bytes_per_op",
          "bytes", ("gort", "gort-pure", "greenlet", "asyncio", "gevent", "trio", "go"),
          100_000, 20_000, 3, 1),
    Bench("select", "Select over 4 channels fed by 4 producers", "ns_per_op", "ns/select",
          ("gort", "gort-pure", "go"), 100_000, 20_000, 5, 3, "the others have no select"),
    Bench("fair", "Fair share: 4 spinners for 1 s on one processor", "worst_dev",
          "worst deviation from 1/4", ("gort", "threads", "gevent", "asyncio", "go"),
          1.0, 0.3, 3, 1),
    Bench("latency", "Preemption latency: a 1 ms sleeper for 2 s while 4 spin", "p99_ms",
          "ms late, p99", ("gort", "threads", "gevent", "asyncio", "go"), 2.0, 0.5, 3, 1),
    Bench("logging", "Logging: 100 000 lines to one StringIO handler from 10 at once",
          "ns_per_op", "ns/line", ("gort", "threads"), 100_000, 20_000, 5, 3),
    Bench("queuepp", "queue.Queue ping-pong: round trip between two", "ns_per_op", "ns",
          ("gort", "threads"), 20_000, 5_000, 5, 3),
    Bench("overhead", "Overhead: CPU-bound loop inside gort vs plain (CPU time, min of 5)",
          "ratio", "ratio", ("gort",), 3_000_000, 1_000_000, 3, 1),
]

# The clock starts where Go's does in bench/go (main, its runtime already up): after the
# imports, before the runtime starts (gort starts at its first call).
OK_PROG = """
import json, time
{setup}
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1e3}}))
"""
OK_SETUPS = {
    # the example itself, as users run it
    "gort": f"""
import gort
t0 = time.perf_counter()
exec(compile(open({os.path.join(os.path.dirname(HERE), "examples", "spin_ok.py")!r}).read(),
             "spin_ok.py", "exec"))
""",
    "asyncio": """
import asyncio
t0 = time.perf_counter()
async def spin():
    while True:
        pass
async def main():
    asyncio.ensure_future(spin())
    await asyncio.sleep(0.001)
    print("OK")
asyncio.run(main())
""",
    "gevent": """
import gevent
t0 = time.perf_counter()
def spin():
    while True:
        pass
gevent.spawn(spin)
gevent.sleep(0.001)
print("OK")
""",
    "trio": """
import trio
t0 = time.perf_counter()
async def spin():
    while True:
        pass
async def main():
    async with trio.open_nursery() as n:
        n.start_soon(spin)
        await trio.sleep(0.001)
        print("OK")
        n.cancel_scope.cancel()
trio.run(main)
""",
}


def have(module: str) -> bool:
    r = subprocess.run([PY, "-c", f"import {module}"], capture_output=True)
    return r.returncode == 0


def versions(gobin: str | None) -> dict[str, str]:
    """Versions of everything measured, for the report's header."""
    out: dict[str, str] = {}
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("gort", "greenlet", "gevent", "trio", "uvloop"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    if gobin is not None:
        r = subprocess.run(["go", "version"], capture_output=True, text=True)
        out["go"] = r.stdout.split()[2] if r.returncode == 0 else "?"
    return out


def run_case(cmd: list[str], timeout: float,
             env: dict[str, str] | None = None) -> dict[str, Any] | str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE,
                           env=env)
    except subprocess.TimeoutExpired:
        return "timeout"
    if r.returncode != 0:
        return f"failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
    last = r.stdout.strip().splitlines()[-1]
    out: dict[str, Any] = json.loads(last)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the Markdown report to write (raw numbers go to OUT.json)")
    ap.add_argument("--quick", action="store_true", help="smaller N and fewer repetitions")
    ap.add_argument("--only", help="comma-separated benchmark names")
    ap.add_argument("--callgrind", action="store_true",
                    help="instead: instructions per op under valgrind's callgrind "
                         "(bench/callgrind.py: gort, gort-pure, greenlet, gevent)")
    ns = ap.parse_args()
    if ns.callgrind:
        try:
            from bench import callgrind  # python -m bench.run
        except ImportError:
            import callgrind  # type: ignore[no-redef]  # python bench/run.py

        only_cg = set(ns.only.split(",")) if ns.only else None
        res = callgrind.run(only_cg)
        with open(os.path.splitext(ns.out)[0] + ".json", "w") as f:
            json.dump({"python": sys.version.split()[0], "callgrind": res}, f, indent=1)
        with open(ns.out, "w") as f:
            f.write(f"# gort: callgrind, CPython {sys.version.split()[0]}\n\n"
                    f"Command: `python bench/run.py {ns.out} --callgrind`\n\n"
                    + callgrind.report(res))
        return 0
    t_start = time.monotonic()
    quick = ns.quick
    only = set(ns.only.split(",")) if ns.only else None

    gobin: str | None = None
    if shutil.which("go"):
        gobin = os.path.join(tempfile.mkdtemp(), "gobench")
        r = subprocess.run(["go", "build", "-o", gobin, "."], cwd=os.path.join(HERE, "go"),
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"go build failed, Go left out: {r.stderr.strip()}", file=sys.stderr)
            gobin = None
    available = {s: have(m) for s, m in (("gevent", "gevent"), ("trio", "trio"),
                                          ("uvloop", "uvloop"))}
    available.update({"gort-pure": True})
    available.update(gort=True, greenlet=True, asyncio=True, threads=True, go=gobin is not None)
    raw: dict[str, Any] = {"quick": quick, "python": sys.version.split()[0],
                           "machine": platform.platform(), "cpus": os.cpu_count(),
                           "versions": versions(gobin), "benchmarks": {}}

    # 1. Time to OK: fresh processes of the example; Go's original.
    if only is None or "time_to_ok" in only:
        runs = 10 if quick else 30
        ok: dict[str, Any] = {}
        for s in ("gort", "go"):
            ok[s] = []
        for _ in range(runs):
            r = run_case([PY, "-c", OK_PROG.format(setup=OK_SETUPS["gort"])], 30)
            ok["gort"].append(r["ms"] if isinstance(r, dict) else r)
            if gobin:
                r = run_case([gobin, "spinok"], 30)
                ok["go"].append(r["ms"] if isinstance(r, dict) else r)
        for s in ("asyncio", "gevent", "trio"):
            if available.get(s, True):
                ok[s] = [run_case([PY, "-c", OK_PROG.format(setup=OK_SETUPS[s])],
                                  1.0 if quick else 2.0) for _ in range(2 if quick else 3)]
        raw["benchmarks"]["time_to_ok"] = ok
        print("time_to_ok done", file=sys.stderr)

    for b in BENCHES:
        if only is not None and b.name not in only:
            continue
        arg = b.quick_arg if quick else b.arg
        reps = b.quick_reps if quick else b.reps
        systems = [s for s in b.systems if available.get(s)]
        results: dict[str, list[Any]] = {s: [] for s in systems}
        for rep in range(reps):
            order = systems if rep % 2 == 0 else list(reversed(systems))
            for s in order:
                a = str(arg) if isinstance(arg, float) else str(int(arg))
                if s == "go":
                    assert gobin is not None
                    cmd = [gobin, b.name, a]
                    env = None
                elif s == "gort-pure":  # gort without its C core (GORT_PURE_PYTHON=1)
                    cmd = [PY, os.path.join(HERE, "cases.py"), b.name, "gort", a]
                    env = {**os.environ, "GORT_PURE_PYTHON": "1"}
                else:
                    cmd = [PY, os.path.join(HERE, "cases.py"), b.name, s, a]
                    env = None
                results[s].append(run_case(cmd, 120, env))
        raw["benchmarks"][b.name] = {"arg": arg, "results": results}
        print(f"{b.name} done", file=sys.stderr)

    raw["seconds"] = time.monotonic() - t_start
    json_path = os.path.splitext(ns.out)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(raw, f, indent=1)
    with open(ns.out, "w") as f:
        f.write(report(raw, ns.out, json_path))
    print(f"wrote {ns.out} and {json_path} in {raw['seconds']:.0f} s", file=sys.stderr)
    return 0


def median_of(results: list[Any], key: str) -> float | str:
    vals = [r[key] for r in results if isinstance(r, dict) and key in r]
    if not vals:
        bad = [r for r in results if not isinstance(r, dict) or key not in r]
        return str(bad[0]) if bad else "n/a"
    return statistics.median(vals)


def report(raw: dict[str, Any], out: str, json_path: str) -> str:
    vers = ", ".join(f"{k} {v}" for k, v in raw.get("versions", {}).items())
    lines = ["# gort benchmarks", "",
             f"Machine: {raw['machine']}, {raw['cpus']} CPUs; CPython {raw['python']}; {vers}"
             f"{'; --quick' if raw['quick'] else ''}; {raw['seconds']:.0f} s. "
             f"Command: `python bench/run.py {out}"
             f"{' --quick' if raw['quick'] else ''}`. Raw numbers: "
             f"`{os.path.basename(json_path)}`. Medians over the repetitions; each system ran "
             "in fresh processes, alternating.", ""]
    benches = raw["benchmarks"]
    targets: list[tuple[str, bool | None, str]] = []
    if "time_to_ok" in benches:
        ok = benches["time_to_ok"]
        lines += ["## Time to OK (examples/spin_ok.py, the README's first example)", "",
                  "| system | runs | min ms | median ms | p99 ms |",
                  "| --- | --- | --- | --- | --- |"]
        med: dict[str, float] = {}
        for s, vals in ok.items():
            nums = [v for v in vals if isinstance(v, float | int)]
            if nums:
                med[s] = statistics.median(nums)
                lines.append(f"| {s} | {len(nums)} | {min(nums):.2f} | {med[s]:.2f} | "
                             f"{pct(nums, 99):.2f} |")
            else:
                lines.append(f"| {s} | {len(vals)} | never printed OK ({vals[0]}) | | |")
        lines.append("")
        if "go" in med:
            targets.append(("time to OK median no worse than Go's", med["gort"] <= med["go"] * 1.0,
                            f"gort {med['gort']:.2f} ms, Go {med['go']:.2f} ms"))
    by = {b.name: b for b in BENCHES}
    for name, data in benches.items():
        if name == "time_to_ok":
            continue
        b = by[name]
        res = data["results"]
        lines += [f"## {b.title}", ""]
        if b.note:
            lines += [f"({b.note})", ""]
        base = median_of(res.get("gort", []), b.key)
        floor = median_of(res.get("greenlet", []), b.key) if "greenlet" in res else None
        head = f"| system | {b.unit} | vs gort |" + (" vs raw greenlet |" if floor else "")
        lines += [head, "|" + " --- |" * (head.count("|") - 1)]
        for s, rs in res.items():
            m = median_of(rs, b.key)
            if isinstance(m, str):
                if name == "latency" and median_of(rs, "ticks") == 0:
                    m = "never woke in time: 0 ticks (the spinners starve the sleeper)"
                lines.append(f"| {s} | {m} | |" + (" |" if floor else ""))
                continue
            vs = f"{m / base:.2f}x" if isinstance(base, float) and base else ""
            vf = f" {m / floor:.2f}x |" if isinstance(floor, float) else (" |" if floor else "")
            cell = fmt(m)
            if name == "latency":
                cell += (f" (p50 {fmt(median_of(rs, 'p50_ms'))}, max {fmt(median_of(rs, 'max_ms'))}"
                         f", ticks {fmt(median_of(rs, 'ticks'))})")
            if name == "fair":
                shares = [r["shares"] for r in rs if isinstance(r, dict)]
                if shares:
                    cell += " (shares " + ", ".join(f"{x:.2f}" for x in shares[-1]) + ")"
            lines.append(f"| {s} | {cell} | {vs} |{vf}")
        lines.append("")
        if not isinstance(base, float):
            continue
        if name == "pingpong" and isinstance(floor, float):
            others = [median_of(res[s], b.key) for s in ("asyncio", "gevent", "trio") if s in res]
            targets.append(("ping-pong within 2x of raw greenlet", base <= 2 * floor,
                            f"{base / floor:.2f}x"))
            targets.append(("ping-pong faster than asyncio, gevent and trio",
                            all(isinstance(o, float) and base < o for o in others),
                            ", ".join(f"{fmt(o)}" if isinstance(o, float) else str(o)
                                      for o in others) + f" ns vs gort {fmt(base)} ns"))
        if name == "buffered":
            targets.append(("buffered channel at most 100 ns per item", base <= 100,
                            f"{base:.0f} ns"))
        if name == "spawn":
            targets.append(("spawn at most 2 us per goroutine", base <= 2, f"{base:.2f} us"))
        if name == "memory":
            targets.append(("at most 6.5 KiB per parked goroutine", base <= 6.5 * 1024,
                            f"{base / 1024:.2f} KiB"))
        if name == "latency":
            targets.append(("1 ms sleeper lateness p99 at most 11 ms (10 ms slice)",
                            base <= 11, f"{base:.2f} ms"))
        if name == "overhead":
            targets.append(("overhead under 1 %", base < 1.01, f"ratio {base:.4f}"))
        if name == "fair":
            targets.append(("every share within 20 % of 1/4", base <= 0.2,
                            f"worst deviation {base * 100:.1f} %"))
    lines += ["## Targets (issue 5)", "", "| target | holds | measured |", "| --- | --- | --- |"]
    lines += [f"| {t} | {'yes' if ok else 'NO'} | {m} |" for t, ok, m in targets]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
