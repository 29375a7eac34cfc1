"""gort.internal.hosts: names the hosts file answers, exactly as the C library would, and
None (ask the system) for everything else."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path
from typing import Any

import pytest

import gort
from gort import socket as gsocket
from gort.internal import hosts

F = socket.AI_CANONNAME
PORTS: list[Any] = [None, 0, 80, "80", b"443", "http", 70000, -1, True, 8.0]
FAMILIES = [0, socket.AF_INET, socket.AF_INET6, socket.AF_UNIX]
TYPES = [0, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_SEQPACKET]
PROTOS = [0, socket.IPPROTO_TCP, socket.IPPROTO_UDP]
FLAGS = [0, F, socket.AI_PASSIVE, socket.AI_ADDRCONFIG, socket.AI_NUMERICSERV,
         socket.AI_V4MAPPED, F | socket.AI_NUMERICSERV]


def real(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except OSError as e:
        return (type(e).__name__, e.errno)


def file_names() -> list[str]:
    """The names of this machine's /etc/hosts (and case variants of localhost)."""
    t = hosts.table()
    return [*sorted(t.by_name), "LocalHost", "localhost.", "no-such-name.invalid"]


def test_every_answer_is_the_c_librarys() -> None:
    # Every argument shape, for every name of the real hosts file: where the module
    # answers, it answers as socket.getaddrinfo (values, order, and enum types).
    answered = 0
    for args in itertools.product(file_names(), PORTS, FAMILIES, TYPES, PROTOS, FLAGS):
        mine = hosts.getaddrinfo(*args)
        if mine is None:
            continue
        answered += 1
        want = real(socket.getaddrinfo, *args)
        assert mine == want, args
        assert [list(map(type, r)) for r in mine] == [list(map(type, r)) for r in want], args
    for name in [*file_names(), "127.0.0.1", "::1", b"localhost", bytearray(b"localhost")]:
        for mine, fn in ((hosts.gethostbyname_ex(name), socket.gethostbyname_ex),
                         (hosts.gethostbyaddr(name), socket.gethostbyaddr)):
            if mine is not None:
                answered += 1
                assert mine == real(fn, name), (fn.__name__, name)
    if hosts.lookup("localhost", socket.AF_INET) is not None:
        assert answered > 1000  # (this machine's file answers localhost: most shapes did)


def test_localhost_is_answered_where_the_file_is_final() -> None:
    t = hosts.table()
    if not t.files_final or "localhost" not in t.by_name:
        pytest.skip("nsswitch.conf does not ask the hosts file first, or no localhost there")
    for fam in (0, socket.AF_INET):
        got = hosts.getaddrinfo("localhost", 80, fam, socket.SOCK_STREAM, 0, 0)
        if got is not None:
            assert got == socket.getaddrinfo("localhost", 80, fam, socket.SOCK_STREAM)
    assert hosts.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM, 0, 0) \
        == socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)


def test_goroutines_get_the_files_answers_without_a_thread() -> None:
    # Through gort.socket and gort.net on a goroutine: the same answers as the stdlib's,
    # and no offload worker started (through the resolver path, each lookup used one).
    # (gethostbyname_ex where the file answers it: not Debian's two localhost lines.)
    if hosts.lookup("localhost", socket.AF_INET) is None:
        pytest.skip("this machine's hosts file does not answer localhost")
    ex = hosts.gethostbyname_ex("localhost") is not None
    want = [socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM),
            socket.getaddrinfo("localhost", "80", 0, 0, 0, socket.AI_CANONNAME),
            socket.gethostbyname("localhost"), socket.gethostbyaddr("127.0.0.1"),
            ex and socket.gethostbyname_ex("localhost")]

    def main() -> tuple[list[Any], list[str], int, int]:
        before = len(os.listdir("/proc/self/task"))
        got = [gsocket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM),
               gsocket.getaddrinfo("localhost", "80", 0, 0, 0, socket.AI_CANONNAME),
               gsocket.gethostbyname("localhost"), gsocket.gethostbyaddr("127.0.0.1"),
               ex and gsocket.gethostbyname_ex("localhost")]
        lk = gort.net.lookup_host("localhost")
        return got, lk, before, len(os.listdir("/proc/self/task"))

    got, lk, before, after = gort.run(main)
    assert got == want
    assert lk == [sa[0] for *_, sa in socket.getaddrinfo("localhost", 0, 0,
                                                          socket.SOCK_STREAM)]
    assert after == before


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hosts, nsswitch.conf and gai.conf of the test's own (files first, no gai rules)."""
    (tmp_path / "nsswitch.conf").write_text("passwd: files\nhosts:  files dns # c\n")
    (tmp_path / "gai.conf").write_text("# only comments\n\n")
    monkeypatch.setattr(hosts, "HOSTS_PATH", str(tmp_path / "hosts"))
    monkeypatch.setattr(hosts, "NSSWITCH_PATH", str(tmp_path / "nsswitch.conf"))
    monkeypatch.setattr(hosts, "GAI_CONF_PATH", str(tmp_path / "gai.conf"))
    return tmp_path


def write(path: Path, text: str) -> None:
    path.write_text(text)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime


def answer(host: str, family: int = 0) -> Any:
    lines = hosts.lookup(host, family)
    return None if lines is None else [(ln.addr, ln.names) for ln in lines]


def test_the_file_as_go_and_glibc_read_it(files: Path) -> None:
    write(files / "hosts", "# comment\n"
          "127.0.0.1   localhost\n"
          "10.0.0.1    Web web.example.org  # trailing comment\n"
          "10.0.0.2    two\n10.0.0.3  two\n"
          "fe80::1%lo  scoped\n"
          "127.1       odd\n"
          "::ffff:1.2.3.4 mapped\n"
          "10.0.0.9    odd other\n"
          "2001:db8::0:1 six\n"
          "bad-address name\n"
          "10.0.0.5\n")
    assert answer("localhost") == [("127.0.0.1", ("localhost",))]
    assert answer("WEB.example.ORG") == [("10.0.0.1", ("Web", "web.example.org"))]
    assert answer("web", socket.AF_INET6) is None  # no line of the family: the system
    assert answer("two") is None  # two lines of one family: rule 9's order, the system's
    assert answer("two", socket.AF_INET6) is None
    for unsure in ("scoped", "odd", "mapped", "name"):
        assert answer(unsure) is None, unsure  # glibc may read these lines otherwise
    assert answer("other") == [("10.0.0.9", ("odd", "other"))]
    assert answer("six") == [("2001:db8::1", ("six",))]  # inet_ntop's text
    assert answer("six", socket.AF_INET) is None  # (glibc skips the line for AF_INET)
    assert answer("localhost.") is None and answer("nowhere") is None
    assert hosts.getaddrinfo("web", 80, 0, socket.SOCK_STREAM, 0, F) == [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "Web", ("10.0.0.1", 80))]
    assert hosts.getaddrinfo("six", "81", 0, socket.SOCK_DGRAM, 0, 0) == [
        (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("2001:db8::1", 81, 0, 0))]
    assert hosts.gethostbyname_ex("web.example.org") == ("Web", ["web.example.org"],
                                                         ["10.0.0.1"])
    assert hosts.gethostbyaddr("10.0.0.9") is None  # its line has a name read otherwise
    assert hosts.gethostbyaddr("web") == ("Web", ["web.example.org"], ["10.0.0.1"])
    assert hosts.gethostbyaddr("10.9.9.9") is None
    # An edit is seen at the next lookup (mtime, size or inode changed), as glibc sees it.
    write(files / "hosts", "10.1.1.1 web\n")
    assert answer("web") == [("10.1.1.1", ("web",))]
    assert answer("localhost") is None


def test_the_file_answers_only_where_it_is_final(files: Path) -> None:
    write(files / "hosts", "127.0.0.1 localhost\n")
    assert answer("localhost") is not None
    for line in ("hosts: dns files", "hosts: files [SUCCESS=continue] dns", "hosts:"):
        write(files / "nsswitch.conf", line + "\n")
        assert answer("localhost") is None, line
    os.unlink(files / "nsswitch.conf")  # glibc's default: DNS first
    assert answer("localhost") is None


def test_the_loopback_pair_in_rfc_6724s_order(files: Path) -> None:
    write(files / "hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    v4 = ("127.0.0.1", ("localhost",))
    v6 = ("::1", ("localhost", "ip6-localhost"))
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.connect(("::1", 9))
        usable = True
    except OSError:
        usable = False
    assert answer("localhost") == ([v6, v4] if usable else [v4, v6])
    # glibc's files source reads ::1 as 127.0.0.1 for AF_INET: the address twice
    assert answer("localhost", socket.AF_INET) == [v4, ("127.0.0.1", v6[1])]
    assert answer("ip6-localhost", socket.AF_INET) == [("127.0.0.1", v6[1])]
    assert answer("localhost", socket.AF_INET6) == [v6]
    assert hosts.gethostbyname("localhost") == "127.0.0.1"
    assert hosts.gethostbyname_ex("localhost") is None  # glibc merges the two lines' names
    assert hosts.gethostbyname_ex("ip6-localhost") == ("localhost", ["ip6-localhost"],
                                                       ["127.0.0.1"])
    assert hosts.gethostbyaddr("127.0.0.1") == ("localhost", [], ["127.0.0.1"])
    assert hosts.gethostbyaddr("::1") == ("localhost", ["ip6-localhost"], ["::1"])
    assert hosts.gethostbyaddr("localhost") == (  # (first resolved as AF_UNSPEC)
        ("localhost", ["ip6-localhost"], ["::1"]) if usable
        else ("localhost", [], ["127.0.0.1"]))
    write(files / "gai.conf", "precedence ::ffff:0:0/96 100\n")  # the admin's own order
    assert answer("localhost") is None
    assert answer("localhost", socket.AF_INET) == [v4, ("127.0.0.1", v6[1])]
    write(files / "hosts", "::1 localhost\n127.0.0.1 localhost\n")
    assert hosts.gethostbyaddr("127.0.0.1") is None  # the ::1 line may come first: the system


def test_shapes_it_leaves_to_the_system(files: Path) -> None:
    write(files / "hosts", "127.0.0.1 localhost\n")
    assert hosts.getaddrinfo("localhost", None, 0, 0, 0, 0) is not None
    for args in [("localhost", "http", 0, 0, 0, 0),  # a service name: /etc/services
                 ("localhost", 70000, 0, 0, 0, 0), ("localhost", True, 0, 0, 0, 0),
                 ("localhost", 80, 0, socket.SOCK_RAW, 0, 0),
                 ("localhost", 80, 0, 0, socket.IPPROTO_TCP, 0),
                 ("localhost", 80, 0, socket.SOCK_STREAM, socket.IPPROTO_UDP, 0),
                 ("localhost", 80, 0, 0, 0, socket.AI_ADDRCONFIG),
                 ("localhost", 80, socket.AF_UNIX, 0, 0, 0),
                 ("l\u00f6calhost", 80, 0, 0, 0, 0), ("localhost\0x", 80, 0, 0, 0, 0),
                 (None, 80, 0, 0, 0, 0), ("", 80, 0, 0, 0, 0), (5, 80, 0, 0, 0, 0),
                 (bytearray(b"localhost"), 80, 0, 0, 0, 0)]:  # (the stdlib: TypeError)
        assert hosts.getaddrinfo(*args) is None, args
