"""Names from the hosts file answered on the goroutine, without a thread (Go: net/hosts.go).

gort's resolver path runs ``getaddrinfo`` and the ``gethostbyname`` family on
offload threads (gort.net.MAX_LOOKUPS at once): a lookup may wait for DNS,
and only a thread can wait in C. But the commonest names are never asked of
DNS: ``localhost`` and the machine's own names come from ``/etc/hosts``, and
fifty fetches of ``http://localhost:8000/`` started twenty-odd threads to
read one file fifty times. Go's pure resolver reads the file itself
(hosts.go: cached, read again when its modification time or size changes);
so does this module, for the answers it can give exactly as the C library
would, and it says None (ask the system, on an offload thread) for every
other case. Exactness is the invariant: a patched program must compute what
it computed before, so an answer is given here only where glibc's is known.

When the file answers. glibc asks the sources of nsswitch.conf's ``hosts:``
line in order; only when ``files`` comes first, with no action that lets a
found name go on to the next source, is the file's answer the final one (a
missing nsswitch.conf means glibc's default, DNS first: the system is asked).
A name is answered here when it is on exactly one line of the family asked
(AF_INET, AF_INET6; for AF_UNSPEC, on exactly one line of either), so no
ordering question arises. Read for AF_INET, glibc takes a ``::1`` line for
``127.0.0.1`` and skips other IPv6 lines (files-hosts.c), so Debian's
``localhost`` (on the ``127.0.0.1`` and the ``::1`` line) is 127.0.0.1 twice
for AF_INET: lines of one address are answered, all of them. The other
two-line case answered is the classic Debian pair, a name on an IPv4 loopback
line and on the ``::1`` line, asked for AF_UNSPEC: glibc sorts by RFC 6724
(addrselect), and with no rules of the administrator's in gai.conf, ``::1``
(precedence 50) comes before an IPv4 address (35) when it is usable, which
glibc learns by connecting a UDP socket to it (rule 1: no source address, the
destination goes last); the same probe is made here, per lookup (a socket, a
connect, a close: no packet is sent). Everything else goes to the system: two
lines of one family (rule 9 orders them by the source address's prefix), a
name also on a line whose address is not one inet_pton reads (glibc may read
it otherwise: ``127.1``, a scope ``fe80::1%lo``, an IPv4-mapped IPv6 address
that AF_INET answers as IPv4), a name that is not plain ASCII (IDNA) or ends
with a dot.
getaddrinfo's arguments are answered here only in the shapes whose answer is
plain: a numeric port (or None), type 0 (the stream, datagram and raw
triple), SOCK_STREAM or SOCK_DGRAM with their protocol or 0, flags among
AI_CANONNAME (the line's first name, on the first result), AI_PASSIVE
(nothing to do with a host given) and AI_NUMERICSERV.

``gethostbyname_ex`` is the line's first name, its other names and the
address; ``gethostbyaddr`` the first line with the address (glibc's files
source stops there, it does not merge lines by address), a name given to it
being resolved first as getaddrinfo(AF_UNSPEC) would (CPython's setipaddr).

Cost: three stat calls per lookup (the hosts file, nsswitch.conf, gai.conf;
glibc opens and reads the whole file per lookup) and a dictionary look-up;
the file is parsed again when one of the three changes (mtime, size, inode).
Not Go's five-second staleness window: the C library sees an edit at once,
and so must this. Rejected: a cache of the system's answers per name
(exact for as long as nothing else changes, but the first lookup of each
name still starts a thread, and DNS answers have TTLs this cannot see), and
answering from the file in every case as Go does (its order and its
handling of odd lines are not glibc's: a program's first address would
change under the patch).

Layering: stdlib only (socket, os); gort.socket and gort.net call it before
they offload a lookup.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Final, NamedTuple

HOSTS_PATH = "/etc/hosts"
NSSWITCH_PATH = "/etc/nsswitch.conf"
GAI_CONF_PATH = "/etc/gai.conf"


class Line(NamedTuple):
    """One address line of the hosts file: its family, the address (inet_ntop's text),
    its packed form, and its names as written (the first is the canonical one)."""

    family: int
    addr: str
    packed: bytes
    names: tuple[str, ...]


class _Table(NamedTuple):
    key: tuple[Any, ...]
    by_name: dict[str, list[Line]]  # lower-cased name -> its lines, in file order
    by_addr: dict[bytes, Line | None]  # packed address -> the first line with it (None:
    # the system's answer)
    unsure: frozenset[str]  # names also on a line this module does not read as glibc
    files_final: bool  # nsswitch.conf: the file's answer is the final one
    gai_default: bool  # gai.conf has no rules: RFC 6724's default precedences


_table: list[_Table] = []


def _stat_key(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


def _files_final(text: str | None) -> bool:
    """nsswitch.conf's hosts line starts with ``files`` and no action follows it."""
    if text is None:
        return False
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if fields and fields[0] == "hosts:":
            return len(fields) >= 2 and fields[1] == "files" and (
                len(fields) == 2 or not fields[2].startswith("["))
    return False


_LOOP4: Final = socket.inet_pton(socket.AF_INET, "127.0.0.1")
_LOOP6: Final = socket.inet_pton(socket.AF_INET6, "::1")


def _parse(text: str) -> tuple[dict[str, list[Line]], dict[bytes, Line | None],
                                frozenset[str]]:
    by_name: dict[str, list[Line]] = {}
    by_addr: dict[bytes, Line | None] = {}
    unsure: set[str] = set()
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        addr, names = fields[0], tuple(fields[1:])
        line = None
        for fam in (socket.AF_INET, socket.AF_INET6):
            try:
                packed = socket.inet_pton(fam, addr)
            except (OSError, ValueError):
                continue
            if not (fam == socket.AF_INET6 and packed.startswith(bytes(10) + b"\xff\xff")):
                line = Line(fam, socket.inet_ntop(fam, packed), packed, names)
            break
        if line is None or not all(n.isascii() for n in names):
            unsure.update(n.lower() for n in names)
            continue
        by_addr.setdefault(line.packed, line)
        if line.packed == _LOOP6:
            # Read for AF_INET, glibc's files source takes ::1 for 127.0.0.1: a reverse
            # lookup of 127.0.0.1 may find this line first (not learnt here: the system's).
            by_addr.setdefault(_LOOP4, None)
        for n in names:
            by_name.setdefault(n.lower(), []).append(line)
    return by_name, by_addr, frozenset(unsure)


def table() -> _Table:
    """The hosts file's table, parsed again when it or nsswitch.conf/gai.conf changed."""
    key = (_stat_key(HOSTS_PATH), _stat_key(NSSWITCH_PATH), _stat_key(GAI_CONF_PATH))
    if _table and _table[0].key == key:
        return _table[0]
    text = _read(HOSTS_PATH)
    by_name, by_addr, unsure = _parse(text or "")
    gai = _read(GAI_CONF_PATH)
    gai_default = gai is None or not any(
        ln.split("#", 1)[0].strip() for ln in gai.splitlines())
    t = _Table(key, by_name, by_addr, unsure, _files_final(_read(NSSWITCH_PATH)), gai_default)
    _table[:] = [t]
    return t


def _usable(line: Line) -> bool:
    """RFC 6724 rule 1 as glibc applies it: a UDP socket connects to the address (no
    packet is sent; it fails where the family has no route, IPv6 switched off)."""
    try:
        with socket.socket(line.family, socket.SOCK_DGRAM) as s:
            s.connect((line.addr, 9))
    except OSError:
        return False
    return True


def lookup(host: str, family: int) -> list[Line] | None:
    """host's lines in getaddrinfo's order for family (AF_UNSPEC, AF_INET, AF_INET6),
    or None: the file does not give glibc's answer for sure (ask the system)."""
    if (not host.isascii() or host.endswith(".") or "\0" in host
            or family not in (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6)):
        return None
    t = table()
    name = host.lower()
    if not t.files_final or name in t.unsure:
        return None
    lines = t.by_name.get(name, [])
    if family == socket.AF_INET:
        # glibc's files source reads ::1 as 127.0.0.1 for AF_INET, and skips every other
        # IPv6 line; the same address twice is answered twice.
        lines = [ln if ln.family == socket.AF_INET else
                 Line(socket.AF_INET, "127.0.0.1", _LOOP4, ln.names)
                 for ln in lines if ln.family == socket.AF_INET or ln.packed == _LOOP6]
        if lines and all(ln.packed == lines[0].packed for ln in lines):
            return lines
        return None
    if family == socket.AF_INET6:
        lines = [ln for ln in lines if ln.family == socket.AF_INET6]
    if len(lines) == 1:
        return lines
    if len(lines) != 2 or family != socket.AF_UNSPEC or not t.gai_default:
        return None
    v4, v6 = sorted(lines)  # (AF_INET < AF_INET6)
    if (v4.family != socket.AF_INET or v6.packed != _LOOP6 or v4.packed[0] != 127
            or v4.names[0] != v6.names[0]):
        return None
    return [v6, v4] if _usable(v6) else [v4, v6]


def lookup_addr(packed: bytes) -> Line | None:
    """The first line with the address (packed, 4 or 16 bytes), or None: ask the system."""
    t = table()
    if not t.files_final:
        return None
    line = t.by_addr.get(packed)
    if line is None or any(n.lower() in t.unsure for n in line.names):
        return None
    return line


_TYPES: Final = {0: ((socket.SOCK_STREAM, socket.IPPROTO_TCP),
                     (socket.SOCK_DGRAM, socket.IPPROTO_UDP),
                     (socket.SOCK_RAW, 0)),
                 socket.SOCK_STREAM: ((socket.SOCK_STREAM, socket.IPPROTO_TCP),),
                 socket.SOCK_DGRAM: ((socket.SOCK_DGRAM, socket.IPPROTO_UDP),)}
_FLAGS: Final = socket.AI_CANONNAME | socket.AI_PASSIVE | socket.AI_NUMERICSERV


def _port(port: Any) -> int | None:
    """A numeric port's value (None: 0), or None for anything glibc reads otherwise."""
    if port is None:
        return 0
    if type(port) is int:
        return port if 0 <= port <= 65535 else None
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if type(port) is str and port.isascii() and port.isdigit() and int(port) <= 65535:
        return int(port)
    return None


def _name(host: Any) -> str | None:
    """host as the C calls take it (str or bytes; not a bytearray: their TypeError)."""
    if type(host) is bytes:
        host = host.decode("ascii", "replace")
    return host if type(host) is str and host else None


def getaddrinfo(host: Any, port: Any, family: Any, socktype: Any, proto: Any,
                flags: Any) -> list[tuple[Any, ...]] | None:
    """socket.getaddrinfo's list for a name the hosts file answers (see the essay), or
    None: ask the system."""
    name = _name(host)
    p = _port(port)
    if (name is None or p is None or not isinstance(family, int)
            or not isinstance(flags, int) or flags & ~_FLAGS or not isinstance(proto, int)
            or not isinstance(socktype, int)):
        return None
    kinds = _TYPES.get(int(socktype))
    if kinds is None or (proto and (len(kinds) > 1 or kinds[0][1] != proto)):
        return None
    lines = lookup(name, int(family))
    if lines is None:
        return None
    out: list[tuple[Any, ...]] = []
    canon = lines[0].names[0] if flags & socket.AI_CANONNAME else ""
    for ln in lines:
        sa: tuple[Any, ...] = (ln.addr, p) if ln.family == socket.AF_INET else (ln.addr, p, 0, 0)
        for t, pr in kinds:
            out.append((socket.AddressFamily(ln.family), socket.SocketKind(t), pr, canon, sa))
            canon = ""
    return out


def gethostbyname(host: Any) -> str | None:
    """socket.gethostbyname's answer from the hosts file, or None: ask the system."""
    name = _name(host)
    lines = None if name is None else lookup(name, socket.AF_INET)
    return None if lines is None else lines[0].addr


def gethostbyname_ex(host: Any) -> tuple[str, list[str], list[str]] | None:
    """socket.gethostbyname_ex's answer from the hosts file (a name on one line: glibc
    merges the names of several), or None: ask the system."""
    name = _name(host)
    lines = None if name is None else lookup(name, socket.AF_INET)
    if lines is None or len(lines) != 1:
        return None
    ln = lines[0]
    return (ln.names[0], list(ln.names[1:]), [ln.addr])


def gethostbyaddr(ip: Any) -> tuple[str, list[str], list[str]] | None:
    """socket.gethostbyaddr's answer from the hosts file (ip: an address, or a name
    resolved first as CPython does), or None: ask the system."""
    name = _name(ip)
    if name is None or "%" in name:
        return None
    packed = None
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(fam, name)
            break
        except (OSError, ValueError):
            continue
    if packed is None:
        lines = lookup(name, socket.AF_UNSPEC)
        if lines is None:
            return None
        packed = lines[0].packed
    ln = lookup_addr(packed)
    if ln is None:
        return None
    return (ln.names[0], list(ln.names[1:]), [ln.addr])
