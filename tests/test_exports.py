"""The public surface is API.md's, nothing from gort.runtime leaks (trio's test_exports)."""

from __future__ import annotations

import inspect
from types import ModuleType

import gort
import gort.exec
import gort.os
import gort.sync
from gort import context, errgroup, net, patch, semaphore, socketserver, tls
from gort import socket as gsocket
from gort.sync import atomic

API = {"run", "go", "gosched", "gomaxprocs", "num_goroutine", "current_id", "sleep", "after",
       "after_func", "Ticker", "Timer", "Chan", "select", "default", "ClosedChannelError",
       "Deadlock", "context", "errgroup", "semaphore"}
OURS = {"offload", "offload_ctx", "signal", "stack", "stats", "sync", "trace"}
SUBMODULES: dict[ModuleType, set[str]] = {
    context: {"Canceled", "Context", "DeadlineExceeded", "after_func", "background", "cause",
              "todo", "with_cancel", "with_cancel_cause", "with_deadline",
              "with_deadline_cause", "with_timeout", "with_timeout_cause", "with_value",
              "without_cancel"},
    errgroup: {"Group", "with_context"},
    semaphore: {"Weighted"},
    atomic: {"Bool", "Int32", "Int64", "Pointer", "Uint32", "Uint64", "Value"},
    gort.signal: {"notify", "stop", "ignore", "reset"},
    net: {"Addr", "Conn", "Dialer", "ErrClosed", "Listener", "PacketConn", "dial",
          "join_host_port", "listen", "listen_packet", "lookup_host", "lookup_ip", "pipe",
          "split_host_port"},
    tls: {"Conn", "Listener", "client", "dial", "listen", "server"},
    gort.os: {"ErrClosed", "ErrProcessDone", "File", "Process", "ProcessState", "new_file",
              "pipe", "waitpid"},
    gort.exec: {"Cmd", "ErrDot", "ErrNotFound", "ErrWaitDelay", "Error", "ExitError",
                "command", "command_context", "look_path"},
    gsocket: {"SSLSocket", "create_connection", "create_server", "fromfd", "getaddrinfo",
              "gethostbyaddr", "gethostbyname", "gethostbyname_ex", "poll", "select", "socket",
              "socketpair"},
    patch: {"PatchWarning", "net", "patched"},
    socketserver: {"GoroutineHTTPServer", "GoroutineMixIn", "GoroutineTCPServer"},
}


def test_all_is_the_api_plus_documented_extras() -> None:
    assert set(gort.__all__) == API | OURS
    for name in gort.__all__:
        assert hasattr(gort, name), name


def test_public_names_have_docstrings_and_live_in_gort() -> None:
    for name in gort.__all__:
        obj = getattr(gort, name)
        if inspect.ismodule(obj):
            continue
        assert (obj.__doc__ or type(obj).__doc__), name
        if inspect.isclass(obj):
            assert obj.__module__ in ("gort", "gort.time"), (name, obj.__module__)


def test_sync_exports() -> None:
    assert set(gort.sync.__all__) == {"WaitGroup", "Mutex", "RWMutex", "RLocker", "Once", "Cond",
                                      "Map", "Pool", "atomic", "once_func", "once_value",
                                      "once_values"}
    for name in gort.sync.__all__:
        obj = getattr(gort.sync, name)
        if not inspect.ismodule(obj):
            assert obj.__module__ == "gort.sync", name


def test_submodule_exports_live_where_they_are_documented() -> None:
    for mod, names in SUBMODULES.items():
        assert set(mod.__all__) == names, mod.__name__
        for name in names:
            obj = getattr(mod, name)
            assert obj.__doc__, (mod.__name__, name)
            if inspect.isclass(obj):
                assert obj.__module__ == mod.__name__, (name, obj.__module__)


def test_context_errors() -> None:
    assert issubclass(context.DeadlineExceeded, TimeoutError)
    assert issubclass(context.Canceled, Exception)
    assert not issubclass(context.Canceled, TimeoutError)


def test_errors_are_runtime_errors() -> None:
    assert issubclass(gort.Deadlock, RuntimeError)
    assert issubclass(gort.ClosedChannelError, RuntimeError)
    assert str(gort.Deadlock()) == "all goroutines are asleep - deadlock!"


def test_every_public_name_is_in_docs_api_md() -> None:
    """docs/api.md is the reference in the project: one heading per public name."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    headings = {line[5:-1] for line in text.splitlines() if line.startswith("### `")}
    public = {f"gort.{n}" for n in gort.__all__}
    public |= {f"gort.sync.{n}" for n in gort.sync.__all__}
    for mod, names in SUBMODULES.items():
        public |= {f"{mod.__name__}.{n}" for n in names}
    missing = public - headings
    assert not missing, f"docs/api.md has no '### `NAME`' heading for {sorted(missing)}"
    stale = {h for h in headings if h.startswith("gort.") and h not in public}
    assert not stale, f"docs/api.md documents names gort does not export: {sorted(stale)}"


def test_signal_exports() -> None:
    assert set(gort.signal.__all__) == {"notify", "stop", "ignore", "reset"}
    for name in gort.signal.__all__:
        fn = getattr(gort.signal, name)
        assert fn.__module__ == "gort.signal"
        assert fn.__doc__ and "Go: signal." in fn.__doc__, name
