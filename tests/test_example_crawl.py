"""examples/crawl.py: context, errgroup and a semaphore in one program, run as a user would."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import ROOT

CRAWL = str(ROOT / "examples" / "crawl.py")


def _tree(root: Path, bad: bool = False) -> Path:
    for d in ("a", "a/b", "c"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(20):
        (root / "a" / f"f{i}.txt").write_text("one\ntwo\n")
        (root / "a" / "b" / f"g{i}.txt").write_text("three\n")
    if bad:
        (root / "c" / "bad.bin").write_bytes(b"\xff\xfe not utf-8")
    return root


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gort", "run", CRAWL, *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_crawl_counts_every_file(tmp_path: Path) -> None:
    r = _run(str(_tree(tmp_path)), "--workers", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "READY\nfiles=40 lines=60\n"
    # The same script under plain python: gort.run(main) hosts the program itself.
    r2 = subprocess.run([sys.executable, CRAWL, str(tmp_path)], capture_output=True,
                        text=True, timeout=30, cwd=ROOT)
    assert (r2.returncode, r2.stdout) == (0, "READY\nfiles=40 lines=60\n"), r2.stderr


def test_crawl_stops_on_the_first_error(tmp_path: Path) -> None:
    # Each read waits 20 s unless cancelled: only a clean stop on the error ends it in time.
    t0 = time.monotonic()
    r = _run(str(_tree(tmp_path, bad=True)), "--delay", "20", "--workers", "64", timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == "READY\n"
    assert r.stderr.startswith("error: UnicodeDecodeError('utf-8'"), r.stderr
    assert time.monotonic() - t0 < 15


def test_crawl_stops_on_ctrl_c(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-m", "gort", "run", CRAWL, str(_tree(tmp_path)),
                          "--delay", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "READY\n"
        time.sleep(0.2)  # the walk is under way, reads waiting in sleep_ctx
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert (out, err) == ("", "interrupted\n")
    assert time.monotonic() - t0 < 10
