"""Running external commands from goroutines (Go: package os/exec), in Python's manners.

``command(name, *args)`` makes a ``Cmd``; ``run()``, ``output()``,
``combined_output()``, or ``start()`` then ``wait()``, run it. Every wait
parks the calling goroutine only: the child's pipes are gort.os Files
(the netpoller), its exit is a pidfd in the netpoller (gort.os.Process),
so a thousand children cost no thread and no SIGCHLD handler.

The child's standard streams (Go's rules, Cmd.Stdin/Stdout/Stderr):

- None: the null device (Go: nil -> os.DevNull), not the parent's stream
  (subprocess's None). Pass ``sys.stdout`` to share the parent's.
- A file the child can be given directly: a gort.os.File, a Python file
  object whose ``fileno()`` works (a buffered writer is flushed first), an
  int descriptor, a socket (``socket.socket`` or ``gort.socket.socket``, not
  TLS; a gort socket's descriptor is blocking unless its timeout is 0.0, so
  the child reads and writes it as any blocking file). The child reads and
  writes it itself; no copying.
- Anything else is copied through a pipe by a goroutine (Go's copying
  goroutines): for stdin, bytes-like data or an object with ``read(n)``
  (a gort.net.Conn, an ssl.SSLSocket, io.BytesIO); for stdout/stderr an
  object with ``write(bytes)`` (io.BytesIO, a gort.net.Conn, an
  ssl.SSLSocket, a text stream's ``buffer``). ``wait`` waits for the
  copying to finish (EOF) and closes the pipes. The same object as stdout
  and stderr shares one pipe (combined_output).
- ``stdin_pipe()``/``stdout_pipe()``/``stderr_pipe()`` hand out the
  parent's end as a gort.os.File; ``wait`` closes it, so read to EOF before
  waiting (Go's rule).

Spawning is ``subprocess.Popen`` given descriptors (its C _posixsubprocess
does vfork/exec, is safe with threads, closes every other descriptor in the
child, restores SIGPIPE to default there, and reports an exec failure as
the parent's OSError). Measured on this machine (2 cores, Linux 6.18,
CPython 3.11): a Popen() call for /bin/true takes 85 us (median of 200,
p90 95 us); spawn and wait 1.1 ms, against 1.3 ms with os.posix_spawn.
So the M is held 85 us per start (tens of ms per child on a loaded
machine: 30 python children started at once stalled a 10 ms ticker about
0.5 s), and start() runs Popen on the M. Go's forkExec holds its M too, but
hands the P off. Rejected, measured (2026-12-01): the start on an offload
thread, which cut that stall to 0.04-0.08 s but broke what a child inherits
from the thread that forks it: PR_SET_PDEATHSIG (the child was killed when
the idle worker exited), the nice value, CPU affinity and signal mask the
program set, preexec_fn's threading.local and context; and an interrupted
start left the worker closing descriptor numbers that the program had
reused meanwhile (data lost, EBADF in other goroutines). Rejected: a fork of our own (async-signal
safety in the child, closing descriptors, error reporting: what
_posixsubprocess already does right); os.posix_spawn (slower here, has no
working-directory action on 3.11-3.13, and closes other descriptors only
from 3.13 on, POSIX_SPAWN_CLOSEFROM). Popen's
own wait/poll are never called: gort.os.Process reaps, then sets
``returncode`` so subprocess never reaps that pid again.

Context (``command_context``): when ctx is done before the child exits,
``cancel`` is called (default: ``process.kill()``); ``wait_delay`` (seconds)
bounds what follows: the child is killed if still running that long after
ctx is done, and the copying pipes are closed if still open that long after
the child exited (ErrWaitDelay), as Go's Cmd.Cancel/WaitDelay do. Done by a
goroutine per started Cmd with a context (Go: watchCtx), which exits when
wait() takes its result.

Errors are exceptions with Go's texts: ``ExitError`` ("exit status 3",
"signal: killed"; ``.stderr`` from output()), ``ErrNotFound`` (also a
FileNotFoundError, as subprocess raises for a missing program),
``ErrDot``, ``ErrWaitDelay``, RuntimeError for a misuse ("exec: already
started", "exec: Stdout already set"...); the first copying error if the
child otherwise succeeded.

Not here: ExtraFiles (Popen cannot renumber descriptors to 3, 4, ...) and
SysProcAttr (use Popen for setsid, process groups, credentials).
"""

from __future__ import annotations

import errno as _errno
import io
import os
import socket
import ssl
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from . import context as _context
from . import go as _go
from . import runtime as _rt
from .os import ErrProcessDone, File, Process, ProcessState, pipe
from .time import Timer

__all__ = [
    "Cmd",
    "ErrDot",
    "ErrNotFound",
    "ErrWaitDelay",
    "Error",
    "ExitError",
    "command",
    "command_context",
    "look_path",
]

CHUNK: Final = 64 * 1024  # bytes per copy (Go's io.Copy uses 32 KiB; a pipe holds 64)
STDERR_KEEP: Final = 32 << 10  # output(): ExitError.stderr keeps this much of each end


def _quote(s: str) -> str:
    """Go's strconv.Quote for the names in messages."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Error(OSError):
    """A program that could not be found or run (Go: exec.Error): ``exec: "name": reason``.

    ``name``: the program as given; ``err``: the reason (an exception or a
    text); ``errno`` is the reason's where it has one.
    """

    def __init__(self, name: str, err: BaseException | str) -> None:
        code = err.errno if isinstance(err, OSError) else None
        super().__init__(code, str(err))
        self.name = name
        self.err = err

    def __reduce__(self) -> Any:
        return (type(self), (self.name, self.err))

    def __str__(self) -> str:
        reason = self.err
        if isinstance(reason, OSError) and reason.errno is not None and \
                not isinstance(reason, Error):
            text = os.strerror(reason.errno)
            reason = text[:1].lower() + text[1:]
        return f"exec: {_quote(self.name)}: {reason}"


class ErrNotFound(Error, FileNotFoundError):
    """No executable of that name on $PATH (Go: exec.ErrNotFound, wrapped in exec.Error).

    ``exec: "name": executable file not found in $PATH``. Also a
    FileNotFoundError (errno ENOENT), as subprocess raises for a missing program.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name, OSError(_errno.ENOENT, "executable file not found in $PATH"))

    def __reduce__(self) -> Any:
        return (type(self), (self.name,))

    def __str__(self) -> str:
        return f"exec: {_quote(self.name)}: executable file not found in $PATH"


class ErrDot(Error):
    """The executable was found through a relative $PATH entry such as "." (Go: exec.ErrDot).

    ``path`` is what was found. Refused by default, as Go refuses it (a
    program in the current directory shadowing a system one); to run it
    anyway, clear the Cmd's ``err`` (``cmd.err = None``), as in Go.
    """

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, "cannot run executable found relative to current directory")
        self.path = path

    def __reduce__(self) -> Any:
        return (type(self), (self.name, self.path))


class ErrWaitDelay(Exception):
    """``wait_delay`` expired before the I/O pipes were closed (Go: exec.ErrWaitDelay)."""

    def __init__(self, msg: str = "exec: WaitDelay expired before I/O complete") -> None:
        super().__init__(msg)


class ExitError(Exception):
    """The command ran and did not exit with status 0 (Go: exec.ExitError).

    ``str()`` is Go's: ``"exit status 3"``, ``"signal: killed"``.
    ``process_state``: the gort.os.ProcessState; ``exit_code``: its exit
    status (-1 for a signal); ``stderr``: the child's stderr when
    ``output()`` captured it (at most 32 KiB of its start and of its end,
    Go's), else b""; ``output``: what ``output()``/``combined_output()``
    collected before the failure (a gort addition: Go returns both), else b"".
    """

    def __init__(self, state: ProcessState, stderr: bytes = b"") -> None:
        super().__init__(str(state))
        self.process_state = state
        self.stderr = stderr
        self.output = b""

    @property
    def exit_code(self) -> int:
        """The exit status, -1 if a signal ended the child (Go: ExitCode)."""
        return self.process_state.exit_code


def _find_executable(path: str) -> None:
    """Raise the OSError that keeps path from being run (Go: findExecutable)."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(_errno.EISDIR, os.strerror(_errno.EISDIR), path)
    if not os.access(path, os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        raise PermissionError(_errno.EACCES, os.strerror(_errno.EACCES), path)


def look_path(file: str) -> str:
    """The path of the executable named file, searched in $PATH (Go: exec.LookPath).

    A name containing a slash is checked, not searched. Raises ErrNotFound
    (a FileNotFoundError) if no executable is found, Error if a name with a
    slash is missing or not executable, ErrDot (``.path`` set) if it was
    found only through a relative $PATH entry.
    """
    if not isinstance(file, str):
        raise TypeError(f"gort.exec.look_path: the name must be a str, got {file!r}")
    if "/" in file:
        try:
            _find_executable(file)
        except OSError as e:
            raise Error(file, e) from None
        return file
    for d in os.environ.get("PATH", "").split(":"):
        path = os.path.join(d or ".", file)
        try:
            _find_executable(path)
        except OSError:
            continue
        if not os.path.isabs(path):
            raise ErrDot(file, path)
        return path
    raise ErrNotFound(file)


class _PrefixSuffixSaver:
    """Keeps the first and the last n bytes written (Go: prefixSuffixSaver)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.prefix = bytearray()
        self.suffix = bytearray()
        self.skipped = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        k = len(view)
        room = self.n - len(self.prefix)
        if room > 0:
            self.prefix += view[:room]
            view = view[room:]
        self.suffix += view
        over = len(self.suffix) - self.n
        if over > 0:
            del self.suffix[:over]
            self.skipped += over
        return k

    def getvalue(self) -> bytes:
        if not self.skipped:
            return bytes(self.prefix + self.suffix)
        return bytes(self.prefix + f"\n... omitting {self.skipped} bytes ...\n".encode()
                     + self.suffix)


class _CtxResult(NamedTuple):
    err: BaseException | None
    timer: Timer | None


_Closer = File | int  # what start closes after the child has its copies


class Cmd:
    """An external command being prepared or run (Go: exec.Cmd). One use only.

    Fields, set before ``start``: ``path`` (the program: Go resolves it in
    Command), ``args`` (argv, args[0] the name as given), ``env`` (None:
    the parent's environment; a mapping or a list of ``"KEY=value"``, later
    duplicates winning), ``dir`` (working directory; None: the parent's),
    ``stdin``/``stdout``/``stderr`` (see the module doc), ``cancel`` and
    ``wait_delay`` (seconds; command_context). After start: ``process``
    (gort.os.Process); after wait: ``process_state`` (gort.os.ProcessState).
    ``err``: a look_path error kept by ``command`` and raised by ``start``.
    """

    def __init__(self, path: str, args: Sequence[str] | None = None) -> None:
        self.path = path
        self.args: list[str] = list(args) if args is not None else [path]
        self.env: Mapping[str, str] | Sequence[str] | None = None
        self.dir: str | os.PathLike[str] | None = None
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        self.process: Process | None = None
        self.process_state: ProcessState | None = None
        self.err: BaseException | None = None
        self.cancel: Callable[[], Any] | None = None
        self.wait_delay: float = 0.0
        self._ctx: _context.Context | None = None
        self._child_io: list[_Closer] = []  # closed once the child has them
        self._parent_io: list[File] = []  # closed by wait
        self._goroutines: list[Callable[[], BaseException | None]] = []
        self._goroutine_err: _rt.Chan[BaseException | None] | None = None
        self._ctx_result: _rt.Chan[_CtxResult] | None = None

    def __str__(self) -> str:
        if self.err is not None:
            return " ".join(self.args)
        return " ".join([self.path, *self.args[1:]])

    def __repr__(self) -> str:
        return f"<gort.exec.Cmd {self}>"

    # -- environment ---------------------------------------------------------------

    def environ(self) -> list[str]:
        """The environment the command would run with, as ``"KEY=value"`` (Go: Cmd.Environ).

        With ``env`` None: the parent's, plus PWD when ``dir`` is set (Go's).
        Duplicate keys: the last one wins.
        """
        return [f"{k}={v}" for k, v in self._env().items()]

    def _env(self) -> dict[str, str]:
        env = self.env
        if env is None:
            out = dict(os.environ)
            if self.dir is not None:
                out["PWD"] = os.path.abspath(os.fspath(self.dir))
            return out
        if isinstance(env, Mapping):
            return dict(env)
        if isinstance(env, str | bytes):
            raise TypeError("exec: env must be a mapping or a list of 'KEY=value' strings, "
                            f"not a single string {env!r}")
        out = {}
        for kv in env:
            key, sep, val = kv.partition("=")
            if not sep or not key:
                raise ValueError(f"exec: environment entry {kv!r} is not of the form "
                                 "'KEY=value'")
            out[key] = val  # later duplicates win (Go: dedupEnv)
        return out

    # -- the child's standard streams -------------------------------------------------

    @staticmethod
    def _direct(x: Any, writer: bool) -> int | None:
        """x's descriptor if the child can be given x itself (Go: an *os.File), else None."""
        if isinstance(x, File):
            return x._for_child()
        if isinstance(x, bool):
            return None
        if isinstance(x, int):
            return x
        if isinstance(x, socket.socket) and not isinstance(x, ssl.SSLSocket):
            # subprocess's rule. A gort socket's descriptor is blocking unless its timeout
            # is 0.0 (gort.socket); a TLS socket is copied (the child cannot speak TLS).
            return x.fileno()
        if isinstance(x, io.IOBase):
            try:
                fd = x.fileno()
            except (OSError, ValueError):  # io.UnsupportedOperation: no descriptor
                return None
            if writer:
                x.flush()  # what the parent wrote before comes first
            return fd
        return None

    def _child_stdin(self) -> int:
        src = self.stdin
        if src is None:
            null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            self._child_io.append(null)
            return null
        fd = self._direct(src, False)
        if fd is not None:
            return fd
        if isinstance(src, str):
            raise TypeError("exec: stdin is a str; pass bytes (e.g. text.encode()) or a "
                            "binary reader")
        if isinstance(src, bytes | bytearray | memoryview):
            data = bytes(src)
            read: Callable[[int], Any] | None = None
        elif callable(getattr(src, "read", None)):
            data = b""
            read = src.read
        else:
            raise TypeError(f"exec: stdin must be None, bytes, a file, a socket or an object "
                            f"with read(n) returning bytes; got {src!r}")
        r, w = pipe()
        self._child_io.append(r)
        self._parent_io.append(w)

        def copy_in() -> BaseException | None:
            err: BaseException | None = None
            try:
                if read is None:
                    w.write(data)
                else:
                    while chunk := read(CHUNK):
                        w.write(chunk)
            except BrokenPipeError:
                pass  # the child stopped reading (exited): not an error (Go: skipStdinCopyError)
            except Exception as e:
                err = e
            w.close()
            return err

        self._goroutines.append(copy_in)
        return r._for_child()

    def _child_writer(self, dst: Any, what: str) -> int:
        if dst is None:
            null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            self._child_io.append(null)
            return null
        fd = self._direct(dst, True)
        if fd is not None:
            return fd
        target = dst
        if isinstance(dst, io.TextIOBase):
            target = getattr(dst, "buffer", None)
            if target is None:
                raise TypeError(f"exec: {what} is a text stream with no binary buffer "
                                f"({dst!r}); pass a binary writer such as io.BytesIO")
        write = getattr(target, "write", None)
        if not callable(write):
            raise TypeError(f"exec: {what} must be None, a file, a socket or an object "
                            f"with write(bytes); got {dst!r}")
        r, w = pipe()
        self._child_io.append(w)
        self._parent_io.append(r)

        def copy_out() -> BaseException | None:
            err: BaseException | None = None
            try:
                while chunk := r.read(CHUNK):
                    write(chunk)
                if callable(flush := getattr(target, "flush", None)):
                    flush()
            except Exception as e:
                err = e
            r.close()  # in case the writer failed: the child gets SIGPIPE, not a full pipe
            return err

        self._goroutines.append(copy_out)
        return w._for_child()

    # -- pipes -----------------------------------------------------------------------

    def stdin_pipe(self) -> File:
        """A File connected to the child's stdin when it starts (Go: Cmd.StdinPipe).

        Close it when done writing (a child reading to EOF waits for that);
        wait closes it otherwise. RuntimeError if stdin is already set or
        the command started.
        """
        if self.stdin is not None:
            raise RuntimeError("exec: Stdin already set")
        if self.process is not None:
            raise RuntimeError("exec: StdinPipe after process started")
        r, w = pipe()
        self.stdin = r
        self._child_io.append(r)
        self._parent_io.append(w)
        return w

    def stdout_pipe(self) -> File:
        """A File connected to the child's stdout when it starts (Go: Cmd.StdoutPipe).

        wait closes it once the child exited: read everything first, then
        wait (and do not use run). RuntimeError if stdout is already set or
        the command started.
        """
        return self._out_pipe("stdout", "Stdout")

    def stderr_pipe(self) -> File:
        """A File connected to the child's stderr when it starts (Go: Cmd.StderrPipe).

        As stdout_pipe.
        """
        return self._out_pipe("stderr", "Stderr")

    def _out_pipe(self, attr: str, go_name: str) -> File:
        if getattr(self, attr) is not None:
            raise RuntimeError(f"exec: {go_name} already set")
        if self.process is not None:
            raise RuntimeError(f"exec: {go_name}Pipe after process started")
        r, w = pipe()
        setattr(self, attr, w)
        self._child_io.append(w)
        self._parent_io.append(r)
        return r

    # -- running ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the command; do not wait for it (Go: Cmd.Start). Then call wait().

        Raises the look_path error kept in ``err`` (ErrNotFound, ErrDot,
        Error), ctx's error if the context is already done, the OSError of
        a failed exec or chdir (FileNotFoundError, PermissionError), TypeError
        or ValueError for a bad stream or environment; RuntimeError if
        already started.
        """
        if self.process is not None:
            raise RuntimeError("exec: already started")
        started = False
        try:
            self._start()
            started = True
        finally:
            self._close_all(self._child_io)
            if not started:
                self._close_all(self._parent_io)

    @staticmethod
    def _close_all(closers: list[Any]) -> None:
        for c in closers:
            if isinstance(c, int):
                os.close(c)
            else:
                c.close()
        closers.clear()

    def _start(self) -> None:
        if not self.path and self.err is None:
            self.err = ValueError("exec: no command")
        if self.err is not None:
            raise self.err
        if self.cancel is not None and self._ctx is None:
            raise RuntimeError("exec: command with a non-nil Cancel was not created with "
                               "CommandContext")
        if self._ctx is not None:
            _context._raise_err(self._ctx)
        stdin = self._child_stdin()
        stdout = self._child_writer(self.stdout, "stdout")
        stderr = stdout if self.stderr is not None and self.stderr is self.stdout \
            else self._child_writer(self.stderr, "stderr")
        env = self._env()
        path = self.path if "/" in self.path else "./" + self.path  # execve: no $PATH
        popen = subprocess.Popen(self.args or [self.path], executable=path, stdin=stdin,
                                 stdout=stdout, stderr=stderr, env=env, cwd=self.dir,
                                 close_fds=True, restore_signals=True)
        self.process = Process(popen)
        goroutines, self._goroutines = self._goroutines, []
        if goroutines:
            errc: _rt.Chan[BaseException | None] = _rt.Chan(1)
            self._goroutine_err = errc
            status: _rt.Chan[tuple[int, BaseException | None]] = _rt.Chan(1)
            status.send((len(goroutines), None))
            for fn in goroutines:
                _go(_copier, fn, status, errc)
        ctx = self._ctx
        if ctx is not None and (self.cancel is not None or self.wait_delay) and \
                not isinstance(ctx, _context._NeverDone):
            self._ctx_result = _rt.Chan()
            _go(self._watch_ctx, ctx, self._ctx_result)

    def _watch_ctx(self, ctx: _context.Context, resultc: _rt.Chan[_CtxResult]) -> None:
        """Cancel the child when ctx is done before wait took this (Go: Cmd.watchCtx)."""
        i, _ = _rt.selectgo(((resultc.send, _CtxResult(None, None)), ctx.done().recv))
        if i == 0:
            return
        err: BaseException | None = None
        if self.cancel is not None:
            try:
                self.cancel()
            except ErrProcessDone:
                pass  # it had exited: no needless error
            except Exception as e:
                err = RuntimeError(f"exec: canceling Cmd: {e}")
                err.__cause__ = e
            else:
                cerr = ctx.err()
                assert cerr is not None
                err = _context._fresh(ctx, cerr)
        if not self.wait_delay:
            resultc.send(_CtxResult(err, None))
            return
        timer = Timer(self.wait_delay)
        i, _ = _rt.selectgo(((resultc.send, _CtxResult(err, timer)), timer.c.recv))
        if i == 0:
            return
        killed = False
        assert self.process is not None
        try:
            self.process.kill()
            killed = True
        except ErrProcessDone:
            pass
        except Exception as e:
            err = RuntimeError(f"exec: killing Cmd: {e}")
            err.__cause__ = e
        errc = self._goroutine_err
        if errc is not None:
            got = errc.try_recv()
            if got is not None:
                if err is None and not killed:
                    err = got[0]
            else:
                # Close the pipes in case a grandchild holds them open (Go issue 23019),
                # after the kill: the child should die of SIGKILL, not SIGPIPE.
                self._close_all(self._parent_io)
                errc.recv()
                if err is None:
                    err = ErrWaitDelay()
            self._goroutine_err = None
        resultc.send(_CtxResult(err, None))

    def wait(self) -> None:
        """Wait for the command to exit and its copying to finish (Go: Cmd.Wait).

        Raises ExitError if it did not exit with status 0; ctx's error
        (Canceled, DeadlineExceeded) if the context was cancelled and the
        child exited 0 anyway; ErrWaitDelay if wait_delay closed the pipes;
        else the first error of a copying goroutine. Closes the pipes of
        stdin_pipe/stdout_pipe/stderr_pipe. RuntimeError if not started or
        already waited for.
        """
        if self.process is None:
            raise RuntimeError("exec: not started")
        if self.process_state is not None:
            raise RuntimeError("exec: Wait was already called")
        state = self.process.wait()
        err: BaseException | None = None if state.success else ExitError(state)
        self.process_state = state
        timer = None
        if self._ctx_result is not None:
            watch = self._ctx_result.recv()
            assert watch is not None
            timer = watch.timer
            if err is None and watch.err is not None:
                err = watch.err
        gerr = self._await_goroutines(timer)
        if err is None:
            err = gerr  # copying errors only for a child that exited on its own, status 0
        self._close_all(self._parent_io)
        if err is not None:
            raise err

    def _await_goroutines(self, timer: Timer | None) -> BaseException | None:
        """The copying goroutines' first error, once all finished (Go: awaitGoroutines)."""
        errc = self._goroutine_err
        self._goroutine_err = None
        try:
            if errc is None:
                return None
            if timer is None:
                if not self.wait_delay:
                    return errc.recv()
                got = errc.try_recv()
                if got is not None:
                    return got[0]  # type: ignore[no-any-return]
                timer = Timer(self.wait_delay)
            i, v = _rt.selectgo((timer.c.recv, errc.recv))
            if i == 1:
                return v  # type: ignore[no-any-return]
            self._close_all(self._parent_io)
            errc.recv()  # an error now is probably of the closing: ignored
            return ErrWaitDelay()
        finally:
            if timer is not None:
                timer.stop()

    def run(self) -> None:
        """start, then wait (Go: Cmd.Run). Raises what either raises."""
        self.start()
        self.wait()

    def output(self) -> bytes:
        """Run the command and return its stdout (Go: Cmd.Output).

        If stderr is None, the child's stderr is kept for ExitError.stderr.
        ExitError.output holds the stdout read before the failure.
        RuntimeError if stdout is already set.
        """
        if self.stdout is not None:
            raise RuntimeError("exec: Stdout already set")
        out = io.BytesIO()
        self.stdout = out
        saver = _PrefixSuffixSaver(STDERR_KEEP) if self.stderr is None else None
        if saver is not None:
            self.stderr = saver
        try:
            self.run()
        except ExitError as e:
            if saver is not None:
                e.stderr = saver.getvalue()
            e.output = out.getvalue()
            raise
        return out.getvalue()

    def combined_output(self) -> bytes:
        """Run the command and return its stdout and stderr, interleaved (Go: CombinedOutput).

        One pipe for both, so the order is the child's. ExitError.output
        holds what was read before the failure. RuntimeError if stdout or
        stderr is already set.
        """
        if self.stdout is not None:
            raise RuntimeError("exec: Stdout already set")
        if self.stderr is not None:
            raise RuntimeError("exec: Stderr already set")
        out = io.BytesIO()
        self.stdout = self.stderr = out
        try:
            self.run()
        except ExitError as e:
            e.output = out.getvalue()
            raise
        return out.getvalue()


def _copier(fn: Callable[[], BaseException | None],
            status: _rt.Chan[tuple[int, BaseException | None]],
            errc: _rt.Chan[BaseException | None]) -> None:
    """Run one copying goroutine; the last one to finish sends the first error (Go: Start)."""
    err = fn()
    st = status.recv()
    assert st is not None
    running, first = st
    if first is None:
        first = err
    running -= 1
    if running == 0:
        errc.send(first)
    else:
        status.send((running, first))


def command(name: str, *args: str) -> Cmd:
    """A Cmd to run program ``name`` with ``args`` (Go: exec.Command).

    A name with no slash is looked up in $PATH now (look_path); a failure
    is kept in ``cmd.err`` and raised by start/run/output. args[0] of the
    child is ``name`` as given.
    """
    if not isinstance(name, str):
        raise TypeError(f"gort.exec.command: the name must be a str, got {name!r}")
    for a in args:
        if not isinstance(a, str | bytes | os.PathLike):
            raise TypeError(f"gort.exec.command: arguments must be str, got {a!r}; pass "
                            "each argument separately: command('ls', '-l', path)")
    cmd = Cmd(name, [name, *args])
    if os.path.basename(name) == name:
        try:
            cmd.path = look_path(name)
        except ErrDot as e:
            cmd.path = e.path
            cmd.err = e
        except Error as e:
            cmd.err = e
    return cmd


def command_context(ctx: _context.Context, name: str, *args: str) -> Cmd:
    """command, with a context (Go: exec.CommandContext).

    If ctx is done before the command exits, ``cmd.cancel()`` is called:
    by default ``cmd.process.kill()`` (SIGKILL; wait then raises ExitError,
    "signal: killed"). Set ``cmd.cancel`` to another function (e.g. one
    sending SIGTERM) or None, and ``cmd.wait_delay`` (seconds), before start.
    """
    if not isinstance(ctx, _context.Context):
        raise TypeError(f"gort.exec.command_context: the first argument is a context, got "
                        f"{ctx!r}; use gort.exec.command for a command with no context")
    cmd = command(name, *args)
    cmd._ctx = ctx

    def kill() -> None:
        assert cmd.process is not None
        cmd.process.kill()

    cmd.cancel = kill
    return cmd
