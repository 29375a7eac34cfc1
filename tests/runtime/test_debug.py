"""GODEBUG and the environment knobs (Go: runtime1.go parsedebugvars)."""

from __future__ import annotations

import pytest

from gort.runtime.debug import DEFAULT_NOPREEMPT_MODULES, parsedebugvars, read_env


def test_known_keys_parsed_unknown_ignored() -> None:
    assert parsedebugvars("asyncpreemptoff=1,gctrace=1,schedtrace=1000,,x") == {
        "asyncpreemptoff": 1, "schedtrace": 1000, "scheddetail": 0, "blockreport": 1,
        "gortcheck": 0}


def test_blockreport_is_on_by_default_and_can_be_turned_off() -> None:
    assert read_env({}).blockreport == 1
    assert read_env({"GODEBUG": "blockreport=0"}).blockreport == 0


@pytest.mark.parametrize("bad", ["asyncpreemptoff=yes", "schedtrace=", "scheddetail",
                                 "schedtrace=-5"])
def test_malformed_values_say_how_to_fix(bad: str) -> None:
    with pytest.raises(ValueError, match=r"GODEBUG: .* write e.g. GODEBUG="):
        parsedebugvars(bad)


def test_gort_knobs() -> None:
    d = read_env({"GORT_PREEMPT_NS": "2000000", "GORT_NOPREEMPT": "mylib, other.mod"})
    assert d.preempt_ns == 2_000_000
    assert d.nopreempt_modules == (*DEFAULT_NOPREEMPT_MODULES, "mylib", "other.mod")
    with pytest.raises(ValueError, match="GORT_PREEMPT_NS='0' is not a positive integer"):
        read_env({"GORT_PREEMPT_NS": "0"})
    assert read_env({"GORT_PREEMPT_NS": ""}).preempt_ns == 10_000_000  # empty is unset
