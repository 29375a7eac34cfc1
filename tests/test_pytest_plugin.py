"""gort's pytest plugin, driven through pytester in subprocesses."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, src: str, *args: str,
         ini: str = "") -> pytest.RunResult:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_prog=src)
    return pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", *args, timeout=120)


def test_marked_tests_run_as_goroutine_one_with_fixtures_inside(
        pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest, gort

        @pytest.fixture
        def chan():
            c = gort.Chan(1)
            gort.go(c.send, "from a fixture goroutine")
            yield c
            gort.sleep(0)  # teardown runs in the runtime too

        @pytest.mark.gort
        def test_one(chan):
            assert gort.current_id() == 1
            assert chan.recv() == "from a fixture goroutine"

        @pytest.mark.gort
        def test_two_starts_fresh():
            assert gort.num_goroutine() == 1
            assert gort.run(lambda: 1) == 1 if False else True
    """)
    r.assert_outcomes(passed=2)


def test_each_marked_test_gets_a_fresh_runtime_and_gort_run_works_after(
        pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest, gort

        def test_implicit_start():
            gort.go(gort.sleep, 10)  # starts the implicit runtime
            assert gort.num_goroutine() == 2

        def test_gort_run_after_an_implicit_start():
            assert gort.run(lambda: gort.current_id()) == 1

        @pytest.mark.gort
        def test_marked_after():
            assert gort.num_goroutine() == 1

        def test_plain_after():
            import gort.runtime as rt
            assert rt.running() is None
    """)
    r.assert_outcomes(passed=4)


def test_a_goroutines_panic_fails_the_test_not_the_session(pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest, gort

        @pytest.mark.gort
        def test_panics():
            def bad():
                raise ValueError("boom in a goroutine")
            gort.go(bad)
            gort.Chan().recv()  # parked: woken by the panic

        @pytest.mark.gort
        def test_next_one_runs():
            assert True
    """)
    r.assert_outcomes(passed=1, failed=1)
    r.stdout.fnmatch_lines(["*ValueError: boom in a goroutine*"])
    assert "uncaught in goroutine 2" in r.stdout.str()


def test_a_deadlock_fails_at_once_with_the_dump(pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest, gort

        @pytest.mark.gort(timeout=60)
        def test_deadlocks():
            gort.Chan().recv()
    """)
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*all goroutines are asleep - deadlock!*"])
    assert r.duration < 50


def test_a_hung_test_fails_after_its_timeout_with_every_stack(
        pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest, gort

        def spin_forever():
            while True:
                gort.sleep(0.01)

        @pytest.mark.gort(timeout=0.5)
        def test_hangs():
            gort.go(spin_forever)
            gort.Chan().recv()

        def test_ini_timeout_too():
            pass
    """)
    r.assert_outcomes(failed=1, passed=1)
    out = r.stdout.str()
    assert "gort test still running after 0.5 s" in out
    assert "goroutine 1 [chan receive]:" in out and "spin_forever" in out


def test_auto_mode_runs_every_test_function_in_gort(pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import gort

        def test_in_gort():
            assert gort.current_id() == 1
            gort.sleep(0)
    """, ini="gort_mode = auto\ngort_timeout = 30")
    r.assert_outcomes(passed=1)


@pytest.mark.parametrize(("ini", "text"), [
    ("gort_mode = sometimes", "gort_mode = 'sometimes': use strict or auto"),
    ("gort_timeout = soon", "gort_timeout = 'soon': a number of seconds"),
])
def test_bad_settings_are_usage_errors(pytester: pytest.Pytester, ini: str, text: str) -> None:
    r = _run(pytester, "def test_x():\n    pass\n", ini=ini)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert text in r.stderr.str()


@pytest.mark.gort
def test_gorts_own_suite_uses_the_plugin() -> None:
    import gort

    ch: gort.Chan[int] = gort.Chan()
    gort.go(ch.send, 7)
    assert ch.recv() == 7 and gort.current_id() == 1


def test_a_bad_marker_timeout_is_a_usage_error_at_collection(pytester: pytest.Pytester) -> None:
    r = _run(pytester, """
        import pytest

        def test_first():
            pass

        @pytest.mark.gort(timeout="x")
        def test_bad():
            pass
    """)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert "@pytest.mark.gort(timeout=...) = 'x'" in r.stderr.str()
    assert "test_first" not in r.stdout.str().replace("test_prog.py", "")
