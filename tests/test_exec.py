"""gort.exec: children whose pipes and exits park on the netpoller (Go: os/exec's tests,
the logic of exec_test.go where it applies). Every child does well under a second of work."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import gort
import gort.exec as ex
import gort.net
import gort.os as gos
from gort import context

from .conftest import run_testprog

pytestmark = pytest.mark.timeout(60)

PY = sys.executable


def children() -> dict[int, str]:
    """This process's children and their states (Z: a zombie), from /proc."""
    me = os.getpid()
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            text = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            out[int(d)] = fields[0]
    return out


@pytest.fixture(autouse=True)
def _no_children_left() -> Any:
    before = set(children())
    yield
    left = {pid: st for pid, st in children().items() if pid not in before}
    assert not left, f"children left behind (Z: zombie): {left}"
    assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL


# -- exit statuses ---------------------------------------------------------------------


def test_exit_statuses_zero_three_and_killed_by_a_signal() -> None:
    def main() -> list[Any]:
        out: list[Any] = []
        c = ex.command("true")
        c.run()
        st = c.process_state
        assert st is not None
        out.append((st.exit_code, st.success, st.exited, st.signal, str(st)))
        for script in ("exit 3", "kill -KILL $$"):
            c = ex.command("sh", "-c", script)
            with pytest.raises(ex.ExitError) as ei:
                c.run()
            e = ei.value
            assert e.process_state is c.process_state
            out.append((e.exit_code, e.process_state.success, e.process_state.exited,
                        e.process_state.signal, str(e)))
        return out

    assert gort.run(main) == [
        (0, True, True, None, "exit status 0"),
        (3, False, True, None, "exit status 3"),
        (-1, False, False, signal.SIGKILL, "signal: killed"),
    ]


def test_process_state_details_and_signal_after_exit() -> None:
    def main() -> None:
        c = ex.command(PY, "-c", "sum(range(200000))")
        c.start()
        assert c.process is not None and c.process.pid > 0
        c.wait()
        st = c.process_state
        assert st is not None and st.pid == c.process.pid
        assert st.user_time + st.system_time > 0
        assert st.sys == 0 and not st.core_dumped
        assert repr(st) == f"<gort.os.ProcessState pid={st.pid} exit status 0>"
        with pytest.raises(gos.ErrProcessDone, match="os: process already finished"):
            c.process.kill()
        with pytest.raises(ProcessLookupError):
            c.process.signal(signal.SIGTERM)
        with pytest.raises(RuntimeError, match="exec: Wait was already called"):
            c.wait()

    gort.run(main)


def test_misuse_errors_have_gos_words() -> None:
    def main() -> None:
        c = ex.command("true")
        with pytest.raises(RuntimeError, match="exec: not started"):
            c.wait()
        c.start()
        with pytest.raises(RuntimeError, match="exec: already started"):
            c.start()
        with pytest.raises(RuntimeError, match="exec: StdoutPipe after process started"):
            c.stdout_pipe()
        c.wait()
        c = ex.command("true")
        c.stdout = io.BytesIO()
        with pytest.raises(RuntimeError, match="exec: Stdout already set"):
            c.output()
        with pytest.raises(RuntimeError, match="exec: Stdout already set"):
            c.combined_output()
        c = ex.command("true")
        c.stdin = b""
        with pytest.raises(RuntimeError, match="exec: Stdin already set"):
            c.stdin_pipe()
        c = ex.command("true")
        c.cancel = lambda: None
        with pytest.raises(RuntimeError, match="not created with CommandContext"):
            c.run()
        c = ex.command("cat")
        c.stdin = "text"
        with pytest.raises(TypeError, match="stdin is a str"):
            c.run()
        assert c.process is None

    gort.run(main)


# -- not found ---------------------------------------------------------------------


def test_a_missing_program_is_gos_not_found_error_and_a_file_not_found_error() -> None:
    def main() -> list[Any]:
        c = ex.command("gort-no-such-program")
        assert isinstance(c.err, ex.ErrNotFound)
        with pytest.raises(FileNotFoundError) as ei:
            c.run()
        e = ei.value
        assert c.process is None
        return [type(e).__name__, str(e), e.errno, isinstance(e, ex.Error), e.name]

    assert gort.run(main) == [
        "ErrNotFound", 'exec: "gort-no-such-program": executable file not found in $PATH',
        errno.ENOENT, True, "gort-no-such-program"]


def test_look_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sh = ex.look_path("sh")
    assert os.path.isabs(sh) and os.access(sh, os.X_OK)
    with pytest.raises(ex.Error) as ei:
        ex.look_path("./gort-missing")
    assert str(ei.value) == 'exec: "./gort-missing": no such file or directory'
    assert ei.value.errno == errno.ENOENT
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(ex.Error, match="permission denied"):
        ex.look_path(str(plain))
    prog = tmp_path / "prog"
    prog.write_text("#!/bin/sh\necho ran\n")
    prog.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", ".")
    with pytest.raises(ex.ErrDot) as di:
        ex.look_path("prog")
    assert di.value.path == "./prog"
    assert str(di.value) == ('exec: "prog": cannot run executable found relative to '
                             'current directory')

    def main() -> bytes:
        c = ex.command("prog")
        assert isinstance(c.err, ex.ErrDot)
        with pytest.raises(ex.ErrDot):
            c.output()
        c = ex.command("prog")
        c.err = None  # Go's idiom: accept the relative path
        return c.output()

    assert gort.run(main) == b"ran\n"


def test_exec_failure_is_the_oserror() -> None:
    def main() -> None:
        c = ex.command("/dev/null/x")  # a path: not looked up, execve fails
        with pytest.raises(NotADirectoryError) as ei:
            c.run()
        assert ei.value.filename == "/dev/null/x"
        with pytest.raises(ex.Error) as li:
            ex.look_path("/dev/null/x")
        assert li.value.errno == errno.ENOTDIR
        c = ex.command("true")
        c.dir = "/gort/no/such/dir"
        with pytest.raises(FileNotFoundError):
            c.run()
        assert c.process is None

    gort.run(main)


# -- output ------------------------------------------------------------------------


def test_output_and_combined_output() -> None:
    script = "echo a; echo b >&2; echo c"

    def main() -> list[bytes]:
        out = ex.command("sh", "-c", script).output()
        both = ex.command("sh", "-c", script).combined_output()
        return [out, both]

    assert gort.run(main) == [b"a\nc\n", b"a\nb\nc\n"]


def test_output_keeps_stderr_for_the_exit_error_with_gos_omission() -> None:
    code = ("import sys; sys.stdout.write('partial'); sys.stdout.flush(); "
            "sys.stderr.write('A' * 40000 + 'B' * 20000 + 'C' * 40000); sys.exit(2)")

    def main() -> ex.ExitError:
        with pytest.raises(ex.ExitError) as ei:
            ex.command(PY, "-c", code).output()
        return ei.value

    e = gort.run(main)
    assert e.exit_code == 2 and e.output == b"partial"
    keep = 32 << 10
    omitted = 100000 - 2 * keep
    assert e.stderr == (b"A" * keep + f"\n... omitting {omitted} bytes ...\n".encode()
                        + b"C" * keep)


def test_stdin_kinds_bytes_reader_file_and_conn(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(b"from a file\n")

    def main() -> list[bytes]:
        got = []
        c = ex.command("cat")
        c.stdin = b"from bytes\n"
        got.append(c.output())
        c = ex.command("cat")
        c.stdin = io.BytesIO(b"from a reader\n" * 10000)
        got.append(c.output()[:14])
        with open(src, "rb") as f:
            c = ex.command("cat")
            c.stdin = f  # given to the child directly
            got.append(c.output())
        a, b = gort.net.pipe()

        def feed() -> None:
            a.write(b"from a conn\n")
            a.close()

        gort.go(feed)
        c = ex.command("cat")
        c.stdin = b
        got.append(c.output())
        b.close()
        return got

    assert gort.run(main) == [b"from bytes\n", b"from a reader\n", b"from a file\n",
                              b"from a conn\n"]


def test_stdout_to_a_file_and_to_a_text_stream(tmp_path: Path) -> None:
    dst = tmp_path / "out.txt"

    def main() -> bytes:
        with open(dst, "wb") as f:
            f.write(b"first\n")  # buffered: flushed before the child writes
            c = ex.command("echo", "second")
            c.stdout = f
            c.run()
        text = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        c = ex.command("echo", "text")
        c.stdout = text
        c.run()
        text.flush()
        buf = text.buffer
        assert isinstance(buf, io.BytesIO)
        return buf.getvalue()

    assert gort.run(main) == b"text\n"
    assert dst.read_bytes() == b"first\nsecond\n"


def test_env_and_dir(tmp_path: Path) -> None:
    def main() -> list[bytes]:
        c = ex.command("sh", "-c", 'echo "$A $B"')
        c.env = ["A=1", "B=2", "A=3"]  # the last duplicate wins (Go: dedupEnv)
        assert c.environ() == ["A=3", "B=2"]
        out = [c.output()]
        c = ex.command("sh", "-c", 'pwd; echo "$PWD"')
        c.dir = tmp_path
        out.append(c.output())
        c = ex.command("true")
        c.env = ["NOEQUALS"]
        with pytest.raises(ValueError, match="not of the form 'KEY=value'"):
            c.run()
        return out

    real = os.path.realpath(tmp_path)
    assert gort.run(main) == [b"3 2\n", f"{real}\n{tmp_path}\n".encode()]


# -- pipes -------------------------------------------------------------------------


def test_ten_megabytes_through_stdout_pipe_with_a_deadline_and_a_ticker() -> None:
    """The child writes 10 MiB (1 MiB every 20 ms); the parent reads it all, in order,
    under a read deadline, while a 10 ms ticker keeps time."""
    code = ("import sys, time\nchunk = bytes(range(256)) * 4096\n"
            "for _ in range(10):\n    sys.stdout.buffer.write(chunk)\n"
            "    sys.stdout.buffer.flush()\n    time.sleep(0.02)\n")

    def main() -> tuple[bool, int, float]:
        ticks = [0]
        stop = gort.Chan[None]()

        def tick() -> None:
            t = gort.Ticker(0.01)
            while True:
                i, _ = gort.select(t.c.recv, stop.recv)
                if i == 1:
                    t.stop()
                    return
                ticks[0] += 1

        gort.go(tick)
        c = ex.command(PY, "-c", code)
        r = c.stdout_pipe()
        c.start()
        t0 = time.monotonic()
        r.set_read_deadline(t0 + 30)
        got = bytearray()
        while chunk := r.read(65536):
            got += chunk
        elapsed = time.monotonic() - t0
        c.wait()
        stop.close()
        return bytes(got) == bytes(range(256)) * 4096 * 10, ticks[0], elapsed

    same, ticks, elapsed = gort.run(main)
    assert same
    assert elapsed >= 0.15  # the child's sleeps
    assert ticks >= elapsed / 0.01 * 0.3, (ticks, elapsed)


def test_a_read_deadline_that_fires_stalls_nothing_else() -> None:
    def main() -> tuple[bytes, str, int, str]:
        ticks = [0]

        def tick() -> None:
            t = gort.Ticker(0.01)
            for _ in range(10_000):
                t.c.recv()
                ticks[0] += 1

        gort.go(tick)
        c = ex.command("sh", "-c", "printf abc; exec sleep 10")
        r = c.stdout_pipe()
        c.start()
        first = r.read(10)
        r.set_read_deadline(time.monotonic() + 0.2)
        before = ticks[0]
        with pytest.raises(TimeoutError) as ei:
            r.read(10)
        during = ticks[0] - before
        assert c.process is not None
        c.process.kill()
        with pytest.raises(ex.ExitError) as xi:
            c.wait()
        return first, str(ei.value), during, str(xi.value)

    first, msg, during, status = gort.run(main)
    assert first == b"abc" and msg == "read |0: i/o timeout"
    assert during >= 5, during  # 20 ticks were due during the 0.2 s wait
    assert status == "signal: killed"


def test_stdin_pipe_and_stdout_pipe() -> None:
    def main() -> bytes:
        c = ex.command("tr", "a-z", "A-Z")
        w = c.stdin_pipe()
        r = c.stdout_pipe()
        c.start()

        def feed() -> None:
            for i in range(100):
                w.write(b"line %d\n" % i)
            w.close()

        gort.go(feed)
        out = r.read()
        c.wait()
        assert r.fileno() == -1  # wait closed it
        return out

    assert gort.run(main) == b"".join(b"LINE %d\n" % i for i in range(100))


def test_yes_head_wc_pipeline_of_three_children() -> None:
    """yes | head -n 1000 | wc -l, connected by pipes; yes dies of SIGPIPE."""

    def main() -> tuple[bytes, str, str]:
        yes = ex.command("yes")
        head = ex.command("head", "-n", "1000")
        wc = ex.command("wc", "-l")
        r1 = yes.stdout_pipe()
        head.stdin = r1
        r2 = head.stdout_pipe()
        wc.stdin = r2
        out = io.BytesIO()
        wc.stdout = out
        for c in (yes, head, wc):
            c.start()
        r1.close()  # the children have them: the parent's copies would keep the pipes open
        r2.close()
        wc.wait()
        head.wait()
        with pytest.raises(ex.ExitError) as ei:
            yes.wait()
        assert ei.value.process_state.signal == signal.SIGPIPE
        return out.getvalue(), str(head.process_state), str(ei.value)

    out, head_status, yes_status = gort.run(main)
    assert out.strip() == b"1000"
    assert head_status == "exit status 0"
    assert yes_status == "signal: broken pipe"


def test_pipeline_through_gort_os_pipe() -> None:
    def main() -> bytes:
        r, w = gos.pipe()
        seq = ex.command("seq", "1", "20000")
        seq.stdout = w
        tail = ex.command("tail", "-n", "2")
        tail.stdin = r
        seq.start()
        tail.stdout = io.BytesIO()
        tail.start()
        w.close()
        r.close()
        seq.wait()
        tail.wait()
        assert isinstance(tail.stdout, io.BytesIO)
        return tail.stdout.getvalue()

    assert gort.run(main) == b"19999\n20000\n"


def test_a_polled_file_handed_to_a_child_goes_back_to_blocking() -> None:
    def main() -> tuple[bool, bool, bytes]:
        r, w = gos.pipe()
        w.write(b"x")  # polled: non-blocking now
        was = os.get_blocking(w.fileno())
        c = ex.command("echo", "child")
        c.stdout = w
        c.run()
        now = os.get_blocking(w.fileno())
        w.write(b"y")  # through offload now
        w.close()
        got = r.read()
        r.close()
        return was, now, got

    assert gort.run(main) == (False, True, b"xchild\ny")


# -- context -----------------------------------------------------------------------


def test_cancellation_by_context_kills_the_child() -> None:
    def main() -> tuple[float, Any, str]:
        ctx, cancel = context.with_timeout(context.background(), 0.2)
        c = ex.command_context(ctx, "sleep", "10")
        t0 = time.monotonic()
        with pytest.raises(ex.ExitError) as ei:
            c.run()
        cancel()
        return time.monotonic() - t0, ei.value.process_state.signal, str(ei.value)

    elapsed, sig, msg = gort.run(main)
    assert 0.15 <= elapsed < 5
    assert sig == signal.SIGKILL and msg == "signal: killed"


def test_a_context_already_done_starts_nothing() -> None:
    def main() -> None:
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        c = ex.command_context(ctx, "true")
        with pytest.raises(context.Canceled):
            c.run()
        assert c.process is None

    gort.run(main)


def test_a_child_exiting_0_after_cancel_reports_the_context_error() -> None:
    """Cancel sends SIGTERM; the child traps it and exits 0: wait raises ctx's error (Go)."""

    def main() -> type[BaseException]:
        ctx, cancel = context.with_cancel(context.background())
        c = ex.command_context(ctx, "sh", "-c", "trap 'exit 0' TERM; echo up; "
                               "while :; do sleep 0.01; done")
        c.cancel = lambda: c.process.signal(signal.SIGTERM) if c.process else None
        r = c.stdout_pipe()
        c.start()
        assert r.read(3) == b"up\n"
        cancel()
        with pytest.raises(context.Canceled) as ei:
            c.wait()
        st = c.process_state
        assert st is not None and st.exit_code == 0
        return type(ei.value)

    assert gort.run(main) is context.Canceled


def test_wait_delay_kills_a_child_that_ignores_cancel() -> None:
    def main() -> tuple[float, Any]:
        ctx, cancel = context.with_cancel(context.background())
        c = ex.command_context(ctx, "sh", "-c", "trap '' TERM; echo up; exec sleep 10")
        c.cancel = lambda: c.process.signal(signal.SIGTERM) if c.process else None
        c.wait_delay = 0.2
        r = c.stdout_pipe()
        c.start()
        assert r.read(3) == b"up\n"
        t0 = time.monotonic()
        cancel()
        with pytest.raises(ex.ExitError) as ei:
            c.wait()
        return time.monotonic() - t0, ei.value.process_state.signal

    elapsed, sig = gort.run(main)
    assert 0.15 <= elapsed < 5 and sig == signal.SIGKILL


def test_wait_delay_closes_pipes_a_grandchild_holds_open() -> None:
    """The child exits 0 at once; a grandchild keeps stdout open: ErrWaitDelay (Go #23019)."""

    def main() -> tuple[float, str, bytes]:
        c = ex.command("sh", "-c", "sleep 10 & echo $!; exit 0")
        out = io.BytesIO()
        c.stdout = out
        c.wait_delay = 0.2
        c.start()
        t0 = time.monotonic()
        try:
            with pytest.raises(ex.ErrWaitDelay) as ei:
                c.wait()
            return time.monotonic() - t0, str(ei.value), out.getvalue()
        finally:
            os.kill(int(out.getvalue()), signal.SIGKILL)  # the grandchild (init's now)

    elapsed, msg, got = gort.run(main)
    assert 0.15 <= elapsed < 5 and got.strip().isdigit()
    assert msg == "exec: WaitDelay expired before I/O complete"


# -- many children, waiting without pidfd ----------------------------------------------


def test_fifty_children_at_once_all_waited_no_zombies_no_sigchld_handler() -> None:
    def main() -> list[int]:
        wg = gort.sync.WaitGroup()
        codes: list[int] = []
        seen: list[Any] = []

        def one(i: int) -> None:
            try:
                c = ex.command("sh", "-c", f"exit {i % 4}")
                try:
                    c.run()
                except ex.ExitError:
                    pass
                st = c.process_state
                assert st is not None
                codes.append(st.exit_code)
                seen.append(signal.getsignal(signal.SIGCHLD))
            finally:
                wg.done()

        for i in range(50):
            wg.add(1)
            gort.go(one, i)
        wg.wait()
        assert set(seen) == {signal.SIG_DFL}
        return sorted(codes)

    assert gort.run(main) == sorted(i % 4 for i in range(50))
    assert "Z" not in children().values()  # and the autouse fixture: no new child at all


def test_without_pidfd_wait_goes_through_offload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gos, "PIDFD", False)

    def main() -> list[str]:
        out = []
        c = ex.command("sh", "-c", "exit 5")
        c.start()
        assert c.process is not None and c.process._pidfd == -1
        with pytest.raises(ex.ExitError) as ei:
            c.wait()
        out.append(str(ei.value))
        ctx, cancel = context.with_timeout(context.background(), 0.1)
        with pytest.raises(ex.ExitError) as ei:
            ex.command_context(ctx, "sleep", "10").run()
        cancel()
        out.append(str(ei.value))
        return out

    assert gort.run(main) == ["exit status 5", "signal: killed"]


def test_a_goroutine_waiting_for_a_child_can_be_interrupted() -> None:
    """goraise takes a goroutine parked on the pidfd off the poller; a later wait works."""

    def main() -> str:
        c = ex.command("sleep", "10")
        c.start()
        me = gort.runtime.getg()

        def interrupt() -> None:
            gort.sleep(0.05)
            gort.runtime.goraise(me, KeyboardInterrupt("stop"))

        gort.go(interrupt)
        with pytest.raises(KeyboardInterrupt):
            c.wait()
        assert c.process is not None
        c.process.kill()
        with pytest.raises(ex.ExitError) as ei:
            c.wait()
        return str(ei.value)

    assert gort.run(main) == "signal: killed"


def test_errors_pickle() -> None:
    import pickle

    for e in (ex.ErrNotFound("x"), ex.ErrDot("x", "./x"), ex.Error("x", "why")):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)


def test_a_whole_program_under_gort_run() -> None:
    r = run_testprog("exec_prog.py", timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    assert r.stdout.splitlines() == [
        "waiter in IO wait: True",
        "waiter: signal: killed",
        "yes: signal: broken pipe",
        "head: ['y', 'y', 'y']",
        "SIGCHLD default: True",
    ]


def test_a_child_started_in_one_run_is_waited_for_in_the_next() -> None:
    def start() -> ex.Cmd:
        c = ex.command("sh", "-c", "exit 4")
        c.start()
        assert c.process is not None
        c.process.signal(0)  # registers nothing; the child is there
        return c

    c = gort.run(start)

    def wait() -> int:
        with pytest.raises(ex.ExitError) as ei:
            c.wait()
        return ei.value.exit_code

    assert gort.run(wait) == 4


def test_wait_interrupted_in_one_run_completes_in_the_next() -> None:
    """The pidfd registered with a poller that is gone is registered with the new one."""
    box: list[ex.Cmd] = []

    def first() -> None:
        c = ex.command("sh", "-c", "sleep 0.3; exit 6")
        c.start()
        box.append(c)
        me = gort.runtime.getg()
        gort.go(lambda: (gort.sleep(0.05), gort.runtime.goraise(me, KeyboardInterrupt())))
        with pytest.raises(KeyboardInterrupt):
            c.wait()

    gort.run(first)

    def second() -> int:
        with pytest.raises(ex.ExitError) as ei:
            box[0].wait()
        return ei.value.exit_code

    assert gort.run(second) == 6


def test_stderr_pipe_and_stdout_to_a_conn() -> None:
    def main() -> tuple[bytes, bytes]:
        c = ex.command("sh", "-c", "echo to-err >&2; echo to-out")
        a, b = gort.net.pipe()
        c.stdout = a  # a Conn: written by a copying goroutine
        e = c.stderr_pipe()
        c.start()
        err = e.read()
        out = b.read(100)
        c.wait()
        a.close()
        b.close()
        return err, out

    assert gort.run(main) == (b"to-err\n", b"to-out\n")


def test_a_wait_abandoned_at_the_end_of_a_run_does_not_refuse_later_waits() -> None:
    # Process.wait kept a "waiting" flag its abandoned goroutine never cleared: every
    # later run's wait raised "another goroutine is already waiting".
    procs: list[gos.Process] = []

    def first() -> None:
        cmd = ex.command("sleep", "0.2")
        cmd.start()
        assert cmd.process is not None
        procs.append(cmd.process)
        gort.go(cmd.process.wait)
        gort.sleep(0.01)

    def second() -> str:
        return str(procs[0].wait())

    gort.run(first)
    assert gort.run(second) == "exit status 0"


def test_sockets_as_stdio_direct_or_copied() -> None:
    """A socket (gort.socket) is given to the child directly, and the child reads it with
    blocking reads while the parent feeds it slowly (it was refused: no read method); a
    TCP gort.net.Conn is copied by goroutines both ways; a copying error (the writer
    failing) is wait's error, the child having exited 0 (Go: the first copy error)."""
    import hashlib

    from gort import socket as gsocket

    summer = "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"

    def main() -> list[Any]:
        out: list[Any] = []
        data = os.urandom(100_000)
        want = hashlib.sha256(data).hexdigest().encode() + b"\n"
        a, b = gsocket.socketpair()
        c = ex.command(PY, "-c", summer)
        c.stdin = c.stdout = a
        c.start()
        for i in range(0, len(data), 25_000):
            b.sendall(data[i:i + 25_000])
            gort.sleep(0.03)
        b.shutdown(1)  # SHUT_WR
        c.wait()
        got = b""
        while len(got) < len(want):
            got += b.recv(100)
        out.append(got == want)
        a.close()
        b.close()

        ln = gort.net.listen("tcp", "127.0.0.1:0")
        peer: gort.Chan[bytes] = gort.Chan(1)

        def serve() -> None:
            s = ln.accept()
            s.write(data)
            s.close_write()
            got = b""
            while chunk := s.read(65536):
                got += chunk
            s.close()
            peer.send(got)

        gort.go(serve)
        conn = gort.net.dial("tcp", str(ln.addr))
        c = ex.command(PY, "-c", summer)
        c.stdin = c.stdout = conn
        c.run()
        conn.close_write()
        out.append(peer.recv() == want)
        conn.close()
        ln.close()

        class Broken:
            def write(self, b: bytes) -> int:
                raise ConnectionResetError(errno.ECONNRESET, "peer gone")

        c = ex.command("echo", "hi")
        c.stdout = Broken()
        try:
            c.run()
        except ConnectionResetError as e:
            out.append(("wait raised", e.errno))
        out.append(c.process_state is not None and c.process_state.success)
        return out

    assert gort.run(main) == [True, True, ("wait raised", errno.ECONNRESET), True]


def test_waitpid_parks_the_goroutine_and_answers_as_os_waitpid() -> None:
    """gort.os.waitpid (os.waitpid under gort.patch.net): a child sleeping 0.3 s is waited
    for while a 10 ms ticker ticks; status and errors are os.waitpid's."""

    def main() -> list[Any]:
        ticks = [0]
        stop = [False]

        def ticker() -> None:
            while not stop[0]:
                gort.sleep(0.01)
                ticks[0] += 1

        gort.go(ticker)
        p = subprocess.Popen([PY, "-c", "import time, sys; time.sleep(0.3); sys.exit(7)"])
        pid, status = gos.waitpid(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        stop[0] = True
        out: list[Any] = [pid == p.pid, os.waitstatus_to_exitcode(status), ticks[0] >= 10]
        for args in ((p.pid, 0), (1, 0), (p.pid, os.WNOHANG)):
            try:
                gos.waitpid(*args)
            except ChildProcessError as e:
                out.append(e.errno)
        try:
            gos.waitpid("1", 0)  # type: ignore[arg-type]
        except TypeError as e:
            out.append(str(e) == _std_error(lambda: os.waitpid("1", 0)))  # type: ignore[arg-type]
        return out

    assert gort.run(main) == [True, 7, True, errno.ECHILD, errno.ECHILD, errno.ECHILD, True]


def _std_error(fn: Any) -> str:
    try:
        fn()
    except TypeError as e:
        return str(e)
    return ""
