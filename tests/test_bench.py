"""The benchmark harness works (the numbers themselves are bench/'s business: generous bounds)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_a_case_reports_json_within_generous_bounds() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "cases.py"), "pingpong", "gort",
                        "2000"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ns = json.loads(r.stdout)["ns_per_op"]
    assert 100 < ns < 100_000


def test_run_writes_markdown_and_json(tmp_path: Path) -> None:
    out = tmp_path / "b.md"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), str(out), "--quick",
                        "--only", "select,overhead"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert md.startswith("# gort benchmarks\n")
    assert "## Select over 4 channels" in md and "| gort |" in md
    assert "## Targets (issue 5)" in md and "overhead under 1 %" in md
    raw = json.loads((tmp_path / "b.json").read_text())
    assert raw["quick"] is True and set(raw["benchmarks"]) == {"select", "overhead"}


def test_net_echo_modes_measure_gort() -> None:
    """bench/net_echo.py's echo, stream and TLS modes run against gort and print its CPU."""
    modes = [("echo", "CPU us/rt"), ("stream", "CPU us/MB")]
    if shutil.which("openssl"):  # the TLS mode makes its certificate with it
        modes.append(("tls", "CPU us/rt"))
    for mode, unit in modes:
        r = subprocess.run([sys.executable, str(ROOT / "bench" / "net_echo.py"), "--mode", mode,
                            "--only", "gort", "--conns", "2", "--seconds", "0.3", "--reps", "1"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert unit in lines[1], r.stdout
        name, cpu, *_ = lines[2].split()
        assert name == "gort" and float(cpu) > 0, r.stdout
