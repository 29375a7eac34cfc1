"""Pipes whose reads and writes park the goroutine, and child processes waited for
in the netpoller (Go: package os's File, Pipe, NewFile, Process and ProcessState).

Files. A ``File`` owns one file descriptor. A pipe, a FIFO, a socket or a
character device is pollable: its reads and writes go through the same
``internal.poll.FD`` as gort.net's sockets (per-direction turns, deadlines,
ErrClosed on close, the edge-triggered netpoller), through ``_Sys``, which
makes the system calls FD makes on a socket (``recv``, ``recv_into``,
``send``) with ``os.read``/``os.readv``/``os.write`` on the descriptor: one
implementation of "try, park on EAGAIN, retry" for sockets and files.
Registration is lazy: a pipe end is made non-blocking and registered with
the poller the first time a goroutine reads or writes it, not when it is
made. The parent's end of a pipe to a child is used by the parent only and
the child's end is handed over untouched (blocking: a child must not find
O_NONBLOCK on its stdin, which is a property of the open file, shared with
the child, not of the descriptor).

Blocking mode. A regular file or a directory cannot be polled (epoll
refuses them with EPERM): their reads and writes go through
``gort.offload``, as Go's do through a blocked M. A descriptor that
``new_file`` is given in blocking mode stays so (Go's NewFile polls only
descriptors already non-blocking: turning a terminal's stdin non-blocking
would change it for the shell that shares it too). A File the parent has
already read or written and then hands to a child (Cmd.stdin = f) is put
back into blocking mode for good, as Go's File.Fd does: later reads and
writes in the parent go through offload; a goroutine already parked on it
finishes its call through offload too (``_Sys.blocking``), never blocking
the M. Deadlines need the poller: ``set_deadline`` on a File in blocking mode
raises io.UnsupportedOperation (Go: os.ErrNoDeadline).

Processes. ``Process.wait`` reaps the child with ``os.wait4`` (its rusage
is ProcessState's user/system time) and waits for its exit on a pidfd
(``os.pidfd_open``, Linux >= 5.3) registered in the netpoller: readable
once the child has exited, so the goroutine parks in IO wait and costs no
thread and no signal handler. SIGCHLD keeps its default disposition: gort
installs no handler, and a program's own handler or ``SIG_IGN`` is its
business (``SIG_IGN`` makes the kernel reap children itself; wait then
raises ChildProcessError). Where pidfd_open fails (an older kernel, a
seccomp filter), wait falls back to ``offload(os.wait4, pid, 0)``: one
worker thread blocked per waited child. The pidfd also makes ``signal``
race-free: ``pidfd_send_signal`` cannot reach a process that reused the
pid. Without it, ``os.kill`` is still safe while the child is unreaped (the
pid cannot be reused before its parent reaps it), which is why reaping goes
through ``wait`` only.

Errors. Python's, with Go's operation and the file's name in the message
(Go: os.PathError): ``TimeoutError("read |0: i/o timeout")``,
``ErrClosed("write |1: file already closed")``, ``BrokenPipeError`` for a
write to a pipe nobody reads (Python ignores SIGPIPE; children get it back:
Popen's restore_signals); ``errno`` kept.

Layering: above gort.runtime and gort.internal.poll (it parks); below gort.exec.
"""

from __future__ import annotations

import errno
import io
import os
import signal as _signal
import socket
import stat
import subprocess
import threading
import warnings
from types import TracebackType
from typing import Any, Final

from . import runtime as _rt
from .internal.poll import FD, Deadlines, deadline_ns
from .internal.poll import ErrClosed as _PollClosed
from .runtime.netpoll import READ, PollDesc
from .runtime.poll_runtime import poll_close, poll_open, poll_reset, poll_unblock, poll_wait
from .runtime.sched import Sched

__all__ = [
    "ErrClosed",
    "ErrProcessDone",
    "File",
    "Process",
    "ProcessState",
    "new_file",
    "pipe",
    "waitpid",
]

CHUNK: Final = 64 * 1024
"""Bytes per read when reading to EOF (a pipe's default capacity on Linux)."""


class ErrClosed(_PollClosed):
    """An operation on a closed File (Go: os.ErrClosed, "file already closed").

    A subclass of gort.net.ErrClosed (both are OSErrors), so one except clause
    catches a closed connection and a closed file.
    """


class ErrProcessDone(ProcessLookupError):
    """The process has already been waited for (Go: os.ErrProcessDone).

    Raised by ``Process.signal``/``kill`` after the child exited and by a
    second ``Process.wait``. A ProcessLookupError, as ``os.kill`` raises for
    a pid that is gone.
    """

    def __init__(self, msg: str = "os: process already finished") -> None:
        super().__init__(errno.ESRCH, msg)

    def __str__(self) -> str:
        return str(self.strerror)


def _path_error(op: str, name: str, e: OSError) -> OSError:
    """e with Go's "op name: reason" message, its class and errno kept (Go: os.PathError)."""
    if isinstance(e, _PollClosed):
        return ErrClosed(f"{op} {name}: file already closed")
    if isinstance(e, TimeoutError) and e.errno is None:
        return TimeoutError(f"{op} {name}: i/o timeout")
    if e.errno is not None:
        reason = os.strerror(e.errno)
        return OSError(e.errno, f"{op} {name}: {reason[:1].lower()}{reason[1:]}")
    return e


class _Sys:
    """The system calls internal.poll.FD makes on its socket, made on a file descriptor.

    ``drains`` tells FD whether a short read means the descriptor is empty
    (TCP sockets; FD then parks until the next edge without a read that
    fails) or not (a terminal returns one line per read with more queued, a
    packet-mode pipe one write, a unix socket stops at a message with
    descriptors: always try); ``type`` is SOCK_STREAM for pipes,
    FIFOs and sockets, which are pollable. ``blocking``: the File was
    handed to a child after use (see the module essay); a call then goes
    through offload instead of blocking the M.
    """

    __slots__ = ("blocking", "drains", "fd", "type")

    def __init__(self, fd: int, stream: bool, drains: bool) -> None:
        self.fd = fd
        self.type = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
        self.drains = drains  # a short read means empty (internal/poll._drains)
        self.blocking = False

    def setblocking(self, flag: bool) -> None:
        os.set_blocking(self.fd, flag)

    def fileno(self) -> int:
        return self.fd

    def recv(self, n: int) -> bytes:
        if self.blocking:
            return _rt.offload(os.read, self.fd, n)
        return os.read(self.fd, n)

    def recv_into(self, buf: Any) -> int:
        if self.blocking:
            return _rt.offload(os.readv, self.fd, (buf,))
        return os.readv(self.fd, (buf,))

    def send(self, data: Any) -> int:
        if self.blocking:
            return _rt.offload(os.write, self.fd, data)
        return os.write(self.fd, data)

    def close(self) -> None:
        os.close(self.fd)


def _drains(fd: int, mode: int) -> bool:
    """A short read of fd means it is empty: a TCP socket. Not a pipe or FIFO (one in
    packet mode, O_DIRECT, returns one write per read, and its read end cannot tell), a
    datagram or unix socket, a terminal (a line per read)."""
    if not stat.S_ISSOCK(mode):
        return False
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return False
    try:
        return sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET,
                                                                   socket.AF_INET6)
    finally:
        sock.detach()


def _write_all(fd: int, data: Any) -> int:
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        done += os.write(fd, view[done:])
    return len(view)


class File(Deadlines):
    """An open file descriptor whose reads and writes park the goroutine (Go: os.File).

    Made by ``pipe()``, ``new_file(fd, name)``, and ``Cmd.stdin_pipe()``/
    ``stdout_pipe()``/``stderr_pipe()`` of gort.exec. Pipes, FIFOs, sockets
    and terminals given non-blocking park on the netpoller and have
    deadlines; other files (regular files, blocking descriptors) read and
    write through ``gort.offload``. A read and a write may wait at once, in
    two goroutines; two reads (or two writes) take turns. Closing makes the
    goroutines blocked on the File raise ErrClosed. Reads and writes need a
    goroutine (gort.run, ``gort run``); ``close`` works anywhere. The deadline
    setters (``set_deadline``, ``set_read_deadline``, ``set_write_deadline``)
    are gort.net.Conn's; on a File in blocking mode they raise
    io.UnsupportedOperation (Go: os.ErrNoDeadline).
    """

    __slots__ = ("__weakref__", "_fd", "_name", "_num", "_sys")

    def __init__(self, fd: int, name: str, pollable: bool) -> None:
        # Private: use pipe() or new_file().
        self._num = fd
        self._name = name
        try:
            mode = os.fstat(fd).st_mode
        except OSError as e:
            raise _path_error("newfile", name, e) from None
        stream = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        self._sys = _Sys(fd, stream, _drains(fd, mode))
        self._sys.blocking = not (pollable and (stream or stat.S_ISCHR(mode)))
        self._fd: FD | None = None  # registered with the poller on first use

    @property
    def name(self) -> str:
        """The name given to the File ("|0" and "|1" for a pipe's ends, as Go's)."""
        return self._name

    def fileno(self) -> int:
        """The file descriptor (-1 once closed); I/O on it behind gort's back is at your risk."""
        return self._num

    def _poll_fd(self, op: str) -> FD | None:
        """The FD to do op through, registering on first use; None in blocking mode."""
        if self._num < 0:
            raise ErrClosed(f"{op} {self._name}: file already closed")
        fd = self._fd
        if fd is not None and fd.pd.closing and not fd.closed:
            # Registered in a run that has ended (its poller is gone, and a goroutine
            # abandoned in a read there holds the old FD's turn): the File is the
            # process's, as Go's, so this run registers it afresh.
            fd = None
        if fd is None and not self._sys.blocking:
            try:
                fd = self._fd = FD(self._sys)  # type: ignore[arg-type]  # FD's socket calls
            except PermissionError:  # epoll refuses this kind of file: blocking mode
                self._sys.blocking = True
                os.set_blocking(self._num, True)
                return None
        return None if self._sys.blocking else fd

    def read(self, n: int = -1) -> bytes:
        """Up to n bytes, as soon as any are there; b"" at EOF (Go: File.Read).

        n < 0 (the default): everything up to EOF, as Python's files read (a
        deadline passing meanwhile raises TimeoutError, and what was read is
        lost: read in chunks under deadlines). Raises TimeoutError past the
        read deadline, ErrClosed once closed.
        """
        if n < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        fd = self._poll_fd("read")
        try:
            if fd is None:
                return _rt.offload(os.read, self._num, n)
            return fd.recv(n)
        except OSError as e:
            raise _path_error("read", self._name, e) from None

    def read_into(self, buf: Any) -> int:
        """Read into a writable buffer; the number of bytes read, 0 at EOF."""
        fd = self._poll_fd("read")
        try:
            if fd is None:
                return _rt.offload(os.readv, self._num, (buf,))
            return fd.recv_into(buf)
        except OSError as e:
            raise _path_error("read", self._name, e) from None

    def write(self, data: Any) -> int:
        """Write all of data (bytes-like), waiting for room; return its length (Go: File.Write).

        Raises TimeoutError past the write deadline (part of data may have
        been written), ErrClosed once closed, BrokenPipeError once the
        reading end is closed.
        """
        fd = self._poll_fd("write")
        try:
            if fd is None:
                return _rt.offload(_write_all, self._num, data)
            return fd.send_all(data)
        except OSError as e:
            raise _path_error("write", self._name, e) from None

    def _set_deadline(self, t: float | None, modes: tuple[int, ...]) -> None:
        deadline_ns(t)  # a bad deadline raises TypeError/ValueError first
        fd = self._poll_fd("set deadline")
        if fd is None:
            raise io.UnsupportedOperation(
                f"set deadline {self._name}: file type does not support deadline (Go: "
                "os.ErrNoDeadline): a regular file, a descriptor given in blocking mode or "
                "a File handed to a child process reads and writes through offload")
        try:
            fd.set_deadline(t, modes)
        except OSError as e:
            raise _path_error("set deadline", self._name, e) from None

    def close(self) -> None:
        """Close; goroutines blocked on the File raise ErrClosed. Closing twice is a no-op."""
        num = self._num
        if num < 0:
            return
        self._num = -1
        fd = self._fd
        if fd is not None:
            fd.close()  # wakes the waiters, unregisters, closes the descriptor
        else:
            os.close(num)

    def _for_child(self) -> int:
        """The descriptor for a child's stdin/stdout/stderr (Go: File.Fd in StartProcess).

        A File the parent has polled goes back to blocking mode for good:
        the child shares its open file, and O_NONBLOCK with it.
        """
        if self._num < 0:
            raise ErrClosed(f"exec {self._name}: file already closed")
        if self._fd is not None and not self._sys.blocking:
            os.set_blocking(self._num, True)
        self._sys.blocking = True
        return self._num

    def __enter__(self) -> File:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_num", -1) >= 0:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2)
            try:
                os.close(self._num)
            except OSError:
                pass
            self._num = -1

    def __repr__(self) -> str:
        state = "closed" if self._num < 0 else f"fd={self._num}"
        return f"<gort.os.File {self._name} {state}>"


def pipe() -> tuple[File, File]:
    """A connected pair of Files ``(r, w)``: what is written to w is read from r (Go: os.Pipe).

    Reads and writes park the goroutine on the netpoller and honour
    deadlines. Closing w makes r read EOF (b""); closing r makes writes to w
    raise BrokenPipeError. Both descriptors are close-on-exec: a child gets
    one only as its stdin/stdout/stderr (gort.exec). Names "|0" and "|1".
    """
    r, w = os.pipe()  # close-on-exec (PEP 446), blocking until first used
    try:
        return File(r, "|0", True), File(w, "|1", True)
    except BaseException:
        os.close(r)
        os.close(w)
        raise


def new_file(fd: int, name: str) -> File:
    """A File owning the open descriptor fd (Go: os.NewFile); it closes fd when closed.

    As Go's NewFile: a descriptor already in non-blocking mode that the
    poller accepts (a pipe, a socket, a terminal) parks the goroutine and has
    deadlines; any other (a regular file, a blocking descriptor) reads and
    writes through ``gort.offload``, and is left blocking. ``name`` is used in
    error messages. OSError if fd is not open; TypeError if it is not an int.
    """
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError(f"gort.os.new_file: fd must be an int file descriptor, got {fd!r}")
    return File(fd, str(name), not os.get_blocking(fd))


# ---------------------------------------------------------------------------
# Processes


def _signal_name(sig: int) -> str:
    """Go's name for a signal ("killed", "terminated"): glibc's description, lower-cased."""
    try:
        text = _signal.strsignal(sig)
    except ValueError:
        text = None
    if not text:
        return f"signal {sig}"
    return text[:1].lower() + text[1:]


class ProcessState:
    """How a child process ended (Go: os.ProcessState), from ``Process.wait``.

    ``exit_code``: the status passed to exit, or -1 if a signal ended it
    (Go: ExitCode). ``signal``: the signal that ended it (a signal.Signals),
    or None. ``str()`` is Go's: ``"exit status 3"``, ``"signal: killed"``,
    with ``" (core dumped)"`` where it applies.
    """

    __slots__ = ("_rusage", "_status", "pid")

    def __init__(self, pid: int, status: int, rusage: Any) -> None:
        self.pid = pid
        self._status = status
        self._rusage = rusage

    @property
    def exited(self) -> bool:
        """True if the program exited (called exit or returned from main) (Go: Exited)."""
        return os.WIFEXITED(self._status)

    @property
    def success(self) -> bool:
        """True if it exited with status 0 (Go: Success)."""
        return os.WIFEXITED(self._status) and os.WEXITSTATUS(self._status) == 0

    @property
    def exit_code(self) -> int:
        """The exit status, or -1 if the process was ended by a signal (Go: ExitCode)."""
        return os.WEXITSTATUS(self._status) if os.WIFEXITED(self._status) else -1

    @property
    def signal(self) -> _signal.Signals | None:
        """The signal that ended the process, or None (Go: WaitStatus.Signal)."""
        if not os.WIFSIGNALED(self._status):
            return None
        sig = os.WTERMSIG(self._status)
        try:
            return _signal.Signals(sig)
        except ValueError:  # a real-time signal: no member
            return sig  # type: ignore[return-value]

    @property
    def core_dumped(self) -> bool:
        """True if the process dumped core (Go: WaitStatus.CoreDump)."""
        return os.WIFSIGNALED(self._status) and os.WCOREDUMP(self._status)

    @property
    def sys(self) -> int:
        """The raw wait status, as os.waitpid returns it (Go: Sys, a syscall.WaitStatus)."""
        return self._status

    @property
    def sys_usage(self) -> Any:
        """The child's resource usage, a resource.struct_rusage (Go: SysUsage)."""
        return self._rusage

    @property
    def user_time(self) -> float:
        """CPU time the child spent in user mode, in seconds (Go: UserTime)."""
        return float(self._rusage.ru_utime)

    @property
    def system_time(self) -> float:
        """CPU time the child spent in the kernel, in seconds (Go: SystemTime)."""
        return float(self._rusage.ru_stime)

    def __str__(self) -> str:
        st = self._status
        if os.WIFEXITED(st):
            res = f"exit status {os.WEXITSTATUS(st)}"
        elif os.WIFSIGNALED(st):
            res = f"signal: {_signal_name(os.WTERMSIG(st))}"
        else:
            res = f"status {st:#x}"
        if self.core_dumped:
            res += " (core dumped)"
        return res

    def __repr__(self) -> str:
        return f"<gort.os.ProcessState pid={self.pid} {self}>"


def _pidfd_open(pid: int) -> int:
    """A pidfd for pid, or -1 where the kernel or a sandbox refuses (see the module essay)."""
    if not PIDFD:
        return -1
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


PIDFD: bool = hasattr(os, "pidfd_open") and hasattr(_signal, "pidfd_send_signal")
"""Wait and signal through a pidfd (Linux >= 5.3); False: offload(os.wait4), os.kill."""


_std_waitpid: Final = os.waitpid


def _on_goroutine() -> bool:
    """True on a goroutine of the running runtime (its thread, not in the scheduler)."""
    s = _rt.running()
    return s is not None and s.m0.tid == threading.get_ident() and s.m0.curg is not None



def waitpid(pid: int, options: int, /) -> tuple[int, int]:
    """As ``os.waitpid`` (``(pid, status)``, its errors); on a goroutine, a wait parks
    the goroutine instead of holding the thread: for one child (pid > 0, options 0) on a
    pidfd in the netpoller; for any child or a process group (pid <= 0, as
    ``socketserver.ForkingMixIn`` waits once ``max_children`` are busy) or with
    WUNTRACED/WCONTINUED, by asking with WNOHANG between sleeps of 1 ms doubling to
    20 ms (no descriptor says "some child changed state"; also for one child where
    pidfds are missing). gort.patch.net() installs it as ``os.waitpid`` (so
    ``http.server.CGIHTTPRequestHandler``'s wait for its CGI child parks only the
    handler). WNOHANG, or off a goroutine: the stdlib's call. Go has no waitpid: its
    os.Process.Wait is gort.os.Process.wait."""
    if (pid.__class__ is not int or options.__class__ is not int or options & os.WNOHANG
            or not _on_goroutine()):
        return _std_waitpid(pid, options)
    if pid <= 0 or options or not PIDFD:
        return _waitpid_polling(pid, options)
    pidfd = _pidfd_open(pid)
    if pidfd < 0:  # reaped already, not a process, or refused: the stdlib's answer
        return _std_waitpid(pid, options)
    try:
        pd = poll_open(pidfd)
        try:
            poll_reset(pd, READ)
            while True:
                got = _std_waitpid(pid, os.WNOHANG)  # ChildProcessError: not our child
                if got[0]:
                    return got
                # Readable once it exited. Nothing else closes pd: an error is the run's
                # poller going away under the wait.
                if poll_wait(pd, READ):
                    raise ChildProcessError(f"os.waitpid({pid}): the run ended while a "
                                            "goroutine waited for the process")
        finally:
            poll_unblock(pd)
            poll_close(pd)
    finally:
        os.close(pidfd)


def _waitpid_polling(pid: int, options: int) -> tuple[int, int]:
    backoff = _rt.Backoff(0.001, 0.02)
    while True:
        got = _std_waitpid(pid, options | os.WNOHANG)  # ChildProcessError: none to wait for
        if got[0]:
            return got
        backoff.sleep()


class Process:
    """A child process started by gort.exec (Go: os.Process).

    ``pid``; ``signal(sig)`` and ``kill()`` send it a signal; ``wait()`` parks
    the goroutine until it exits and reaps it. ``release()`` gives up the
    process without waiting (Go: Release).
    """

    __slots__ = ("__weakref__", "_pd", "_pidfd", "_popen", "_released", "_state", "_waiting",
                 "pid")

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        # Private: gort.exec makes Processes.
        self.pid: int = popen.pid
        self._popen = popen
        self._pidfd = _pidfd_open(popen.pid)
        self._pd: PollDesc | None = None
        self._state: ProcessState | None = None
        self._waiting: Sched | None = None
        self._released = False

    def _check(self, op: str) -> None:
        if self._released:
            raise ValueError(f"os: {op} of process {self.pid}: process already released")
        if self._state is not None:
            raise ErrProcessDone()

    def signal(self, sig: int) -> None:
        """Send sig to the process (Go: Process.Signal).

        ErrProcessDone (a ProcessLookupError) once it has exited: waited for,
        or exited and not yet waited for.
        """
        self._check("signal")
        try:
            if self._pidfd >= 0:
                _signal.pidfd_send_signal(self._pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            raise ErrProcessDone() from None

    def kill(self) -> None:
        """Send SIGKILL: the process exits at once (Go: Process.Kill). ErrProcessDone as signal."""
        self.signal(_signal.SIGKILL)

    def wait(self) -> ProcessState:
        """Park until the process exits, reap it and return how it ended (Go: Process.Wait).

        ErrProcessDone if it was already waited for; RuntimeError if another
        goroutine is waiting for it; ChildProcessError if something else
        reaped it (SIGCHLD set to SIG_IGN, a waitpid(-1) of the program's).
        """
        self._check("wait")
        s = _rt.current_sched()
        if self._waiting is s:
            raise RuntimeError(f"gort.os.Process.wait: another goroutine is already waiting "
                               f"for process {self.pid}; wait for it in one goroutine")
        # The run of the goroutine waiting: one abandoned in this wait when its run
        # ended never clears it, and must not refuse every later run's wait.
        self._waiting = s
        try:
            if self._pidfd >= 0:
                _pid, status, rusage = self._wait_pidfd()
            else:
                _pid, status, rusage = _rt.offload(os.wait4, self.pid, 0)
        finally:
            self._waiting = None
        state = self._state = ProcessState(self.pid, status, rusage)
        # subprocess must not reap this pid again (Popen.__del__, subprocess._cleanup): it
        # could by then be another child's.
        self._popen.returncode = os.waitstatus_to_exitcode(status)
        self._close_pidfd()
        return state

    def _wait_pidfd(self) -> tuple[int, int, Any]:
        pd = self._pd
        if pd is None or pd.closing:  # first wait, or one in an earlier run (its poller is gone)
            pd = self._pd = poll_open(self._pidfd)
        poll_reset(pd, READ)
        while True:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                return pid, status, rusage
            # The pidfd becomes readable when the child exits; an edge registered after
            # that is reported at registration, so none is missed.
            if poll_wait(pd, READ):
                raise ValueError(f"os: wait of process {self.pid}: the process was released "
                                 "while a goroutine waited for it")

    def _close_pidfd(self) -> None:
        pd = self._pd
        if pd is not None:
            self._pd = None
            poll_unblock(pd)
            poll_close(pd)
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1

    def release(self) -> None:
        """Give up the process: no wait or signal after this (Go: Process.Release).

        Only needed when the process will not be waited for; the child is then
        reaped by Python's subprocess module when it notices it exited.
        """
        if self._released:
            return
        self._released = True
        self._close_pidfd()

    def __del__(self) -> None:
        if getattr(self, "_pidfd", -1) >= 0:
            os.close(self._pidfd)  # never waited for (closing also drops it from epoll)
            self._pidfd = -1

    def __repr__(self) -> str:
        state = f" {self._state}" if self._state is not None else ""
        return f"<gort.os.Process pid={self.pid}{state}>"
