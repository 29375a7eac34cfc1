"""gort's pytest plugin: tests that run as goroutines (registered as the ``gort`` pytest11 entry).

A test marked ``@pytest.mark.gort`` (every test function, with the ini option
``gort_mode = auto``) runs in a fresh runtime of its own: its fixtures' setup,
the test function and the fixtures' teardown all run as goroutine 1, so
fixtures can start goroutines, make channels and park. The runtime ends with
the test; goroutines still alive then are abandoned, as when ``gort.run``
returns, and the next test starts clean.

What a Go test gets, a gort test gets, inside pytest's reporting:

- a panic in any goroutine fails the test (the exception, with a note naming
  the goroutine, is raised in the test's main goroutine, waking it if it is
  parked) rather than killing the process;
- a deadlock fails it with ``gort.Deadlock`` and the goroutine dump;
- a test still running after its timeout (ini ``gort_timeout``, seconds,
  default 120; ``@pytest.mark.gort(timeout=5)``; 0 turns it off) fails with
  the goroutine dump, as ``go test -timeout`` panics with every stack. The
  watchdog is a goroutine timer marked weak: it does not keep a deadlocked
  test alive, so a deadlock is still reported at once. A test stuck inside
  one C call never lets it run; pytest-timeout's thread method covers that.

Exceptions a goroutine raises while pytest's own code runs between two
phases (setup, call, teardown) wait for the next phase, where pytest records
them against it; they are never raised inside pytest's reporting.

Outside marked tests, gort calls made by a test start the implicit runtime
as in a script; the plugin ends it with the test, so that the next test
(and its ``gort.run``) starts from nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from . import runtime as _rt
from .runtime import proc as _proc
from .runtime import rt0 as _rt0

_DEFAULT_TIMEOUT = 120.0


class TestTimeout(AssertionError):
    """A gort test ran past its timeout; the message holds every goroutine's stack."""

    __test__ = False  # not a test class, whatever its name says to pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("gort_mode", "strict: run only tests marked gort in a gort runtime; "
                  "auto: every test function", default="strict")
    parser.addini("gort_timeout", "seconds a gort test may run before it fails with a "
                  "goroutine dump (0: no limit)", default=str(_DEFAULT_TIMEOUT))


def pytest_configure(config: pytest.Config) -> None:
    # A test's implicit runtime that ends (a panic, a deadlock) raises in the test, which
    # fails it; it must not end pytest's process as a script's would.
    _rt0.implicit_exits = False
    config.addinivalue_line(
        "markers", "gort(timeout=None): run the test (fixtures included) as the main "
        "goroutine of a fresh gort runtime")
    mode = config.getini("gort_mode")
    if mode not in ("strict", "auto"):
        raise pytest.UsageError(f"gort_mode = {mode!r}: use strict or auto")
    _timeout_from(config.getini("gort_timeout"), "the ini option gort_timeout")


def _timeout_from(raw: object, where: str) -> float:
    try:
        t = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        t = -1.0
    if not t >= 0:
        raise pytest.UsageError(f"{where} = {raw!r}: a number of seconds >= 0 (0: no limit)")
    return t


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Check every gort marker's timeout at collection: a bad one is a usage error before
    any test runs, not a failure halfway through the session."""
    for item in items:
        m = item.get_closest_marker("gort")
        if m is not None and "timeout" in m.kwargs:
            _timeout_from(m.kwargs["timeout"], f"{item.nodeid}: @pytest.mark.gort(timeout=...)")


def _wanted(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    if item.get_closest_marker("gort") is not None:
        return True
    return bool(item.config.getini("gort_mode") == "auto")


def _timeout(item: pytest.Item) -> float:
    m = item.get_closest_marker("gort")
    if m is not None and "timeout" in m.kwargs:
        return _timeout_from(m.kwargs["timeout"], "@pytest.mark.gort(timeout=...)")
    return _timeout_from(item.config.getini("gort_timeout"), "gort_timeout")


class _Run:
    """The runtime of one test: routes the goroutines' failures into the phase running."""

    def __init__(self) -> None:
        self.s: Any = None
        self.open = False  # a phase (setup, call, teardown) is running
        self.held: list[BaseException] = []

    def contain(self, exc: BaseException) -> None:
        """A goroutine panicked (or the watchdog fired): fail the test, not the process."""
        s = self.s
        main_g = s.main_g if s is not None else None
        if self.open and main_g is not None and main_g.status is not _rt.Gstatus.DEAD:
            _rt.goraise(main_g, exc)
        else:
            self.held.append(exc)

    def enter_phase(self) -> None:
        self.open = True
        if self.held:
            exc = self.held.pop(0)
            for later in self.held:
                exc.add_note(f"and later: {type(later).__name__}: {later}")
            self.held.clear()
            raise exc

    def exit_phase(self) -> None:
        self.open = False


def _watchdog(arg: tuple[_Run, float], _now: int) -> None:
    run, seconds = arg
    s = run.s
    run.contain(TestTimeout(f"gort test still running after {seconds:g} s "
                            f"(gort_timeout)\n\n{_rt.goroutine_dump(s)}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if not _wanted(item):
        return None
    from _pytest.runner import runtestprotocol

    run = _Run()
    item.stash[_RUN_KEY] = run
    timeout = _timeout(item)

    def main() -> None:
        run.s = _rt.current_sched()
        if timeout > 0:
            _rt.start_timer(timeout, 0, _watchdog, (run, timeout), weak=True)
        runtestprotocol(item, nextitem=nextitem, log=True)

    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    try:
        _rt0.run(main, (), {}, contain=run.contain)
    finally:
        del item.stash[_RUN_KEY]
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


_RUN_KEY = pytest.StashKey[_Run]()


def _phase(item: pytest.Item) -> Generator[None, Any, Any]:
    run = item.stash.get(_RUN_KEY, None)
    if run is None:
        return (yield)
    run.enter_phase()
    try:
        return (yield)
    finally:
        run.exit_phase()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _phase(item))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _phase(item))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item,
                            nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    try:
        return (yield from _phase(item))
    finally:
        if _RUN_KEY not in item.stash:
            _end_implicit_runtime()


def _end_implicit_runtime() -> None:
    """A test's gort calls started the implicit runtime: it ends with the test."""
    s = _rt.running()
    if s is None or s.host is not None:
        return  # none, or a gort.run still in progress (not this plugin's to end)
    from greenlet import getcurrent

    _proc.teardown(s, keep=(getcurrent(),))
