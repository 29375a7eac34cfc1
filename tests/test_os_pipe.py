"""gort.os: pipes whose reads and writes park on the netpoller, files through offload."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

import gort
import gort.net
import gort.os as gos

from .conftest import tick_counter

pytestmark = pytest.mark.timeout(60)


def test_pipe_round_trip_eof_and_names() -> None:
    def main() -> list[object]:
        r, w = gos.pipe()
        assert (r.name, w.name) == ("|0", "|1")
        assert w.write(b"hello") == 5
        got = [r.read(3), r.read(100)]
        w.close()
        got.append(r.read(100))  # EOF
        assert w.fileno() == -1 and repr(w) == "<gort.os.File |1 closed>"
        r.close()
        r.close()  # twice: a no-op
        return got

    assert gort.run(main) == [b"hel", b"lo", b""]


def test_write_to_a_closed_reader_is_a_broken_pipe_with_gos_words() -> None:
    def main() -> str:
        r, w = gos.pipe()
        r.close()
        with pytest.raises(BrokenPipeError) as ei:
            w.write(b"x")
        w.close()
        return str(ei.value)

    assert gort.run(main) == "[Errno 32] write |1: broken pipe"


def test_big_write_parks_until_the_reader_drains_it() -> None:
    """4 MiB through a 64 KiB pipe: the writer parks on the poller; all bytes, in order."""

    def main() -> tuple[bool, list[str]]:
        r, w = gos.pipe()
        data = bytes(range(256)) * (16 * 1024)
        events: list[str] = []

        def writer() -> None:
            events.append("write")
            w.write(data)
            events.append("written")
            w.close()

        gort.go(writer)
        gort.sleep(0.02)
        events.append("read")  # the writer is parked on a full pipe by now
        got = r.read()
        r.close()
        return got == data, events

    same, events = gort.run(main)
    assert same
    assert events == ["write", "read", "written"]


def test_read_deadline_fires_with_timeout_error_and_others_keep_running() -> None:
    def main() -> tuple[str, int, bytes]:
        r, w = gos.pipe()
        ticks = [0]

        def tick() -> None:
            t = gort.Ticker(0.01)
            for _ in range(1000):
                t.c.recv()
                ticks[0] += 1

        gort.go(tick)
        r.set_read_deadline(time.monotonic() + 0.15)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            r.read(10)
        assert 0.1 <= time.monotonic() - t0 < 5
        with pytest.raises(TimeoutError):  # stays expired
            r.read(10)
        seen = ticks[0]
        r.set_read_deadline(None)
        w.write(b"after")
        got = r.read(10)
        r.close()
        w.close()
        return str(ei.value), seen, got

    msg, ticks, got = gort.run(main)
    assert msg == "read |0: i/o timeout"
    assert ticks >= 3  # 15 were due: the ticker was not stalled by the wait
    assert got == b"after"


def test_close_wakes_a_blocked_reader_with_err_closed() -> None:
    def main() -> str:
        r, w = gos.pipe()
        out = gort.Chan[str](1)

        def reader() -> None:
            try:
                r.read(10)
            except gos.ErrClosed as e:
                out.send(f"{type(e).__name__}: {e}")

        gort.go(reader)
        gort.sleep(0.02)
        r.close()
        w.close()
        msg = out.recv()
        assert msg is not None
        return msg

    assert gort.run(main) == "ErrClosed: read |0: file already closed"
    assert issubclass(gos.ErrClosed, gort.net.ErrClosed)
    assert issubclass(gos.ErrClosed, OSError)


def test_regular_file_goes_through_offload_and_has_no_deadline(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"0123456789" * 1000)

    def main() -> tuple[bytes, int, str]:
        f = gos.new_file(os.open(p, os.O_RDONLY), str(p))
        head = f.read(10)
        rest = f.read()
        with pytest.raises(io.UnsupportedOperation) as ei:
            f.set_deadline(time.monotonic() + 1)
        f.close()
        return head, len(rest), str(ei.value)

    head, n, msg = gort.run(main)
    assert head == b"0123456789" and n == 9990
    assert "file type does not support deadline" in msg


def test_new_file_polls_only_a_descriptor_given_non_blocking() -> None:
    def main() -> tuple[bool, bool, bytes]:
        r1, w1 = os.pipe()
        blocking = gos.new_file(r1, "blocking")  # stays blocking: reads through offload
        os.write(w1, b"a")
        assert blocking.read(1) == b"a"
        kept_blocking = os.get_blocking(r1)
        with pytest.raises(io.UnsupportedOperation):
            blocking.set_read_deadline(time.monotonic() + 1)
        r2, w2 = os.pipe()
        os.set_blocking(r2, False)
        polled = gos.new_file(r2, "polled")
        polled.set_read_deadline(time.monotonic() + 0.05)
        with pytest.raises(TimeoutError):
            polled.read(1)
        polled.set_read_deadline(None)
        os.write(w2, b"b")
        got = polled.read(1)
        for f in (blocking, polled):
            f.close()
        os.close(w1)
        os.close(w2)
        return kept_blocking, os.get_blocking(1), got

    kept, _, got = gort.run(main)
    assert kept is True and got == b"b"


def test_new_file_rejects_a_non_int() -> None:
    with pytest.raises(TypeError, match="must be an int file descriptor"):
        gos.new_file("3", "x")  # type: ignore[arg-type]


def test_bad_deadline_is_a_type_error() -> None:
    def main() -> None:
        r, w = gos.pipe()
        with r, w, pytest.raises(TypeError, match=r"time\.monotonic"):
            r.set_deadline("soon")  # type: ignore[arg-type]

    gort.run(main)


def test_write_deadline_fires_on_a_full_pipe() -> None:
    def main() -> tuple[str, int]:
        r, w = gos.pipe()
        w.set_write_deadline(time.monotonic() + 0.1)
        with pytest.raises(TimeoutError) as ei:
            w.write(b"x" * (1 << 20))  # more than the pipe holds; nobody reads
        got = len(r.read(1 << 20))
        r.close()
        w.close()
        return str(ei.value), got

    msg, got = gort.run(main)
    assert msg == "write |1: i/o timeout"
    assert 0 < got < 1 << 20  # part was written, as the docstring says


def test_a_file_read_abandoned_at_the_end_of_a_run_is_usable_in_the_next() -> None:
    # A File is the process's (Go's os.File). Registered in a run that ended, with a
    # goroutine abandoned in its read, it said "file already closed" in every later run
    # while its descriptor stayed open.
    files: list[gos.File] = []

    def first() -> None:
        r, w = gos.pipe()
        files.extend((r, w))
        gort.go(r.read, 10)  # abandoned here
        gort.sleep(0.01)

    def second() -> list[object]:
        r, w = files
        gort.go(w.write, b"next run")
        got: list[object] = [r.read(100)]
        r.set_read_deadline(time.monotonic() + 0.02)
        with pytest.raises(TimeoutError):
            r.read(1)
        r.close()
        w.close()
        got.append((r.fileno(), w.fileno()))
        return got

    gort.run(first)
    assert gort.run(second) == [b"next run", (-1, -1)]


@pytest.mark.parametrize("how", ["group", "untraced"])
def test_waitpid_for_a_group_or_with_options_parks_the_goroutine(how: str) -> None:
    # os.waitpid(-1, 0) (socketserver.ForkingMixIn once max_children are busy) and the
    # WUNTRACED form held the thread until a child exited: the server froze, or
    # deadlocked with its clients in the same process.
    def main() -> tuple[int, int, int, bool]:
        pid = os.posix_spawn("/bin/sleep", ["sleep", "0.3"], os.environ, setpgroup=0)
        ticks = tick_counter(0.01)
        got, status = gos.waitpid(-pid, 0) if how == "group" else \
            gos.waitpid(pid, os.WUNTRACED)
        return got - pid, os.waitstatus_to_exitcode(status), ticks[0], \
            os.WIFEXITED(status)

    same, code, ticks, exited = gort.run(main)
    assert (same, code, exited) == (0, 0, True)
    assert ticks >= 5  # 30 were due while the child slept
