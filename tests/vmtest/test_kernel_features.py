"""tests/kernel_features.py's rule: probe first; skip only where the kernel is too old."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kernel_features import SKIP_PREFIX, Feature, parse_version, require, requires

MISSING = Feature("a feature the probe never finds", "6.10", lambda: False)
PRESENT = Feature("a feature the probe finds", "99.0", lambda: True)


def test_versions() -> None:
    assert parse_version("6.1.0-41-amd64") == (6, 1, 0)
    assert parse_version("6.12.57+deb13-amd64") == (6, 12, 57)
    assert parse_version("6.10") == (6, 10, 0)
    assert parse_version("6.9.12") < parse_version("6.10") <= parse_version("6.10.0")
    with pytest.raises(ValueError, match="not a kernel version"):
        parse_version("linux")


def test_older_kernel_skips_with_the_version_it_needs() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        require(MISSING, release="6.1.0-41-amd64")
    assert str(skipped.value) == (f"{SKIP_PREFIX}6.10 (a feature the probe never finds); "
                                  "running 6.1.0-41-amd64")


def test_kernel_that_should_have_it_fails() -> None:
    for release in ("6.10.0", "6.12.57+deb13-amd64"):
        with pytest.raises(pytest.fail.Exception, match="should have a feature the probe never"):
            require(MISSING, release=release)


def test_a_supported_feature_runs_even_on_an_older_version_number() -> None:
    require(PRESENT, release="6.1.0")  # the probe wins: backports exist


def test_decorator_on_tests_and_generator_fixtures() -> None:
    calls: list[str] = []

    @requires(PRESENT)
    def test_body(x: int) -> int:
        calls.append("test")
        return x

    @requires(PRESENT)
    def fixture_body(x: int) -> Iterator[int]:
        calls.append("setup")
        yield x
        calls.append("teardown")

    assert test_body(3) == 3
    assert list(fixture_body(4)) == [4]
    assert calls == ["test", "setup", "teardown"]
    assert test_body.__name__ == "test_body"  # pytest still sees the arguments it needs

    @requires(MISSING)
    def never() -> None:
        calls.append("never")

    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)):
        never()
    assert "never" not in calls


def test_probe_runs_once() -> None:
    runs: list[int] = []
    counted = Feature("counted", "1.0", lambda: runs.append(1) is None)
    require(counted)
    require(counted)
    assert runs == [1]
