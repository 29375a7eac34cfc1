"""schedtrace/scheddetail lines, the goroutine dump, execution traces and their HTML page."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gort
import gort.runtime as rt
from gort.runtime.schedtrace import schedtrace

from ..conftest import ROOT, TESTPROG, run_testprog, settle

# Accepts Go's own lines (1.21+ "[2]" and 1.25+ "[ 0 0 ] schedticks=[ ... ]") and gort's.
SCHED_RE = re.compile(
    r"^SCHED (?P<ms>\d+)ms: gomaxprocs=(?P<gomaxprocs>\d+) idleprocs=(?P<idleprocs>\d+) "
    r"threads=(?P<threads>\d+) spinningthreads=(?P<spinning>\d+) "
    r"(?:needspinning=(?P<needspinning>\d+) )?idlethreads=(?P<idlethreads>\d+) "
    r"runqueue=(?P<runqueue>\d+)"
    r"(?: \[ ?(?P<runqs>[\d ]*?) ?\](?: schedticks=\[ [\d ]*\])?| gcwaiting=\S+ "
    r"nmidlelocked=\d+ stopwait=\d+ sysmonwait=\S+)$")
P_RE = re.compile(r"^  P\d+: status=\d+ schedtick=\d+ syscalltick=\d+ m=(\d+|nil) runqsize=\d+ "
                  r"gfreecnt=\d+ timerslen=\d+$")
M_RE = re.compile(r"^  M\d+: p=(\d+|nil) curg=(\d+|nil) mallocing=0 throwing=0 preemptoff= "
                  r"locks=\d+ dying=0 spinning=(true|false) blocked=(true|false) lockedg=nil$")
G_RE = re.compile(r"^  G\d+: status=\d+\([^)]*\) m=(\d+|nil) lockedm=nil$")

GO_OUTPUT = [  # lines printed by Go itself, which the parser must accept too
    "SCHED 1004ms: gomaxprocs=1 idleprocs=0 threads=3 spinningthreads=0 needspinning=0 "
    "idlethreads=1 runqueue=0 [2]",
    "SCHED 0ms: gomaxprocs=4 idleprocs=2 threads=6 spinningthreads=1 idlethreads=2 "
    "runqueue=129 [0 128 0 0]",
    "SCHED 1007ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1 "
    "idlethreads=1 runqueue=132 [ 61 74 ] schedticks=[ 3356 3112 ]",
]


@pytest.mark.parametrize("line", GO_OUTPUT)
def test_parser_accepts_gos_own_lines(line: str) -> None:
    assert SCHED_RE.match(line)


def test_schedtrace_line_golden() -> None:
    def main() -> str:
        gort.gomaxprocs(2)
        block: gort.Chan[None] = gort.Chan()
        for _ in range(3):  # not run yet: one in runnext, two in P0's ring
            gort.go(block.recv)
        s = rt.running()
        assert s is not None
        return schedtrace(s, s.start_ns + 1_004_000_000, detailed=False)

    line = gort.run(main)
    assert line.endswith("\n")
    m = SCHED_RE.match(line.rstrip("\n"))
    assert m is not None, line
    assert m["ms"] == "1004" and m["gomaxprocs"] == "2" and m["idleprocs"] == "1"
    # Go counts the ring only (t - h), not runnext; threads: M0 and sysmon
    assert m["threads"] == "2" and m["runqueue"] == "0" and m["runqs"] == "2 0"


def test_scheddetail_lines() -> None:
    def main() -> str:
        gort.go(gort.Chan().recv)
        settle()
        s = rt.running()
        assert s is not None
        return schedtrace(s, s.start_ns, detailed=True)

    lines = gort.run(main).splitlines()
    assert SCHED_RE.match(lines[0]) and "sysmonwait=false" in lines[0]
    assert P_RE.match(lines[1]) and lines[1].startswith("  P0: status=1 ")
    assert M_RE.match(lines[2]) and lines[2].startswith("  M0: p=0 curg=1 ")
    assert [ln for ln in lines[3:] if G_RE.match(ln)] == lines[3:]
    assert "  G1: status=2() m=0 lockedm=nil" in lines
    # parked: no M, as Go's dropg leaves gp.m nil
    assert "  G2: status=4(chan receive) m=nil lockedm=nil" in lines


def test_schedtrace_prints_every_n_ms_on_stderr() -> None:
    r = run_testprog("spinners_progress.py", "300", env={"GODEBUG": "schedtrace=50"},
                     timeout=20)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("SCHED")]
    assert 2 <= len(lines) <= 9, r.stderr
    assert all(SCHED_RE.match(ln) for ln in lines), lines
    times = [int(SCHED_RE.match(ln)["ms"]) for ln in lines]  # type: ignore[index]
    # Never early (a line every 50 ms at most); late only by what the machine's load adds
    # (a sysmon waiting for the GIL or the CPU), bounded at 10x.
    # (The first at 50 ms, also within 10x: 271 ms once at load 8.)
    assert times[0] < 500 and all(40 <= b - a <= 500 for a, b in itertools.pairwise(times))


def test_scheddetail_prints_p_m_g_lines() -> None:
    r = run_testprog("spinners_progress.py", "120",
                     env={"GODEBUG": "schedtrace=50,scheddetail=1"}, timeout=20)
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    assert any(P_RE.match(ln) for ln in err) and any(M_RE.match(ln) for ln in err)
    assert sum(1 for ln in err if G_RE.match(ln)) >= 5


# -- goroutine dumps --------------------------------------------------------------


def test_stack_api_dumps_every_goroutine_in_go_format() -> None:
    def main() -> str:
        c: gort.Chan[int] = gort.Chan()

        def waiter() -> None:
            c.recv()

        gort.go(waiter)
        gort.go(gort.sleep, 10)
        settle()
        return gort.stack()

    dump = gort.run(main)
    blocks = dump.split("\n\n")
    assert blocks[0].startswith("goroutine 1 [running]:\n")
    assert "test_schedtrace.py:" in blocks[0]
    assert blocks[1].startswith("goroutine 2 [chan receive]:\n")
    assert "waiter(...)\n\t" in blocks[1]
    assert "created by " in blocks[1] and " in goroutine 1\n\t" in blocks[1]
    assert blocks[2].startswith("goroutine 3 [sleep]:\n")


def test_stack_api_puts_the_calling_goroutine_first_as_go_does() -> None:
    # Go's runtime.Stack(buf, true): the caller's trace, then every other goroutine's.
    def main() -> str:
        c: gort.Chan[str] = gort.Chan()
        gort.go(gort.sleep, 10)
        settle()
        gort.go(lambda: c.send(gort.stack()))
        return c.recv()

    heads = [b.split("\n", 1)[0] for b in gort.run(main).split("\n\n")]
    assert heads == ["goroutine 3 [running]:", "goroutine 1 [chan receive]:",
                     "goroutine 2 [sleep]:"]


def test_long_waits_show_minutes() -> None:
    from gort.runtime.traceback import state_of

    def main() -> str:
        gort.go(gort.Chan().recv)
        settle()
        s = rt.running()
        assert s is not None
        gp = next(g for g in s.allgs if g.goid == 2)
        return state_of(gp, gp.waitsince + 125 * 10**9)

    assert gort.run(main) == "chan receive, 2 minutes"


def test_sigquit_dumps_all_goroutines_and_exits_2() -> None:
    p = subprocess.Popen([sys.executable, "-m", "gort", "run", str(TESTPROG / "sigquit_dump.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stdout is not None
    assert p.stdout.readline() == "READY\n"
    p.send_signal(signal.SIGQUIT)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 2
    assert err.startswith("SIGQUIT: quit\n\ngoroutine 1 [")
    for header, fn in [("goroutine 2 [chan receive]:", "receiver"),
                       ("goroutine 3 [sync.Mutex.Lock]:", "locker"),
                       ("goroutine 4 [sleep]:", "sleeper")]:
        assert header in err, err
        block = err.split(header, 1)[1].split("\n\n", 1)[0]
        assert f"__main__.{fn}(...)" in block and "sigquit_dump.py:" in block
    assert re.search(r"goroutine 5 \[(running|runnable)\]:\n__main__\.spinner", err), err


# -- execution traces ---------------------------------------------------------------

TRACE_KEYS = {"X": {"name", "ph", "ts", "dur", "pid", "tid"},
              "i": {"name", "ph", "ts", "pid", "tid", "s"},
              "M": {"name", "ph", "pid", "args"}}


def check_trace_schema(data: dict[str, object]) -> list[dict[str, object]]:
    assert isinstance(data, dict) and isinstance(data["traceEvents"], list)
    events: list[dict[str, object]] = data["traceEvents"]
    for e in events:
        assert TRACE_KEYS[e["ph"]] <= set(e), e  # type: ignore[index]
        if e["ph"] in ("X", "i"):
            assert isinstance(e["ts"], float | int) and e["ts"] >= 0  # type: ignore[operator]
        if e["ph"] == "X":
            assert e["dur"] >= 0  # type: ignore[operator]
    return events


def test_trace_of_the_example_shows_the_preemption_and_the_sleep(tmp_path: Path) -> None:
    out = tmp_path / "ex.json"
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--trace", str(out),
                        str(ROOT / "examples" / "spin_ok.py")], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert r.returncode == 0 and r.stdout == "OK\n", r.stderr
    events = check_trace_schema(json.loads(out.read_text()))
    slices = [e for e in events if e["ph"] == "X" and e["pid"] == 1]
    spinner = [e for e in slices if e["args"]["goid"] == 2]  # type: ignore[index]
    main = [e for e in slices if e["args"]["goid"] == 1]  # type: ignore[index]
    assert any(e["args"]["stop"] == "preempted (async)" for e in spinner)  # type: ignore[index]
    assert any(e["args"]["stop"] == "sleep" for e in main)  # type: ignore[index]
    assert len(main) >= 2, "main must run again after its sleep"
    instants = [(e["name"], e.get("args", {}).get("goid")) for e in events if e["ph"] == "i"]
    assert ("preempt async", 2) in instants and ("GoUnblock", 1) in instants
    assert ("preempt request", 2) in instants


def test_trace_api_start_stop_and_misuse(tmp_path: Path) -> None:
    out = tmp_path / "t.json"

    def main() -> None:
        with pytest.raises(RuntimeError, match="not enabled"):
            gort.trace.stop()
        gort.trace.start(out)
        with pytest.raises(RuntimeError, match="already enabled"):
            gort.trace.start(out)
        gort.go(gort.sleep, 0.001)
        gort.offload(time.sleep, 0.001)
        gort.trace.stop()

    gort.run(main)
    events = check_trace_schema(json.loads(out.read_text()))
    names = {e["name"] for e in events}
    assert {"GoCreate", "GoUnblock", "offload sleep"} <= names


def test_trace_left_on_is_written_at_teardown(tmp_path: Path) -> None:
    out = tmp_path / "t.json"

    def main() -> None:
        gort.trace.start(out)
        gort.sleep(0.001)

    gort.run(main)
    check_trace_schema(json.loads(out.read_text()))


def _chromium() -> str | None:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and os.environ.get("GORT_REQUIRE_CHROMIUM"):
        pytest.fail("GORT_REQUIRE_CHROMIUM is set but no chromium is on PATH")
    return path


def test_html_timeline_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (CI installs Debian's chromium)")
    trace = tmp_path / "busy.json"
    page = tmp_path / "busy.html"
    r = subprocess.run([sys.executable, "-m", "gort", "run", "--trace", str(trace),
                        str(TESTPROG / "spinners_progress.py"), "300"],
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "gort", "trace", str(trace), "-o", str(page)],
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "http" not in page.read_text().replace("http://www.w3.org/2000/svg", "")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-quic", "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    assert '<svg id="timeline"' in dom
    assert 'data-lane="P0"' in dom and 'data-lane="sysmon"' in dom
    assert dom.count('class="slice"') >= 4
    assert 'class="preempt"' in dom
    rows = re.findall(r'<tr data-goid="(\d+)">', dom)
    assert {"1", "2", "3", "4", "5"} <= set(rows)


def test_gort_trace_rejects_a_file_that_is_not_a_trace(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    r = subprocess.run([sys.executable, "-m", "gort", "trace", str(bad), "-o",
                        str(tmp_path / "x.html")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "not a trace-event JSON file" in r.stderr
