"""The per-kernel summary: counts and skip reasons parsed from a real pytest JUnit XML."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bpf4py.vmtest.errors import VmTestError
from bpf4py.vmtest.summary import Row, Summary, format_table, parse_junit

SAMPLE_TESTS = '''
import pytest

def test_passes():
    pass

def test_fails():
    assert 1 == 2

@pytest.mark.parametrize("n", [1, 2])
def test_skips_for_a_version(n):
    pytest.skip("needs Linux 6.10 (BPF links for sockmap/sockhash programs); running 6.1.0")

@pytest.mark.skip(reason="a marker's reason")
def test_marked_skip():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup breaks")

def test_setup_error(broken):
    pass

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown breaks")

def test_passes_then_teardown_error(bad_teardown):
    pass
'''


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUnit XML written by this pytest for SAMPLE_TESTS (the format the runner parses)."""
    d = tmp_path_factory.mktemp("junit")
    (d / "test_sample.py").write_text(SAMPLE_TESTS)
    out = d / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", f"--junitxml={out}", str(d / "test_sample.py")],
                          check=False, capture_output=True, text=True, cwd=d)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return out


def test_counts_failures_errors_and_skip_reasons(junit: Path) -> None:
    summary = parse_junit(junit)
    assert (summary.passed, summary.failed, summary.skipped) == (1, 3, 3)
    assert summary.skip_reasons == Counter({
        "needs Linux 6.10 (BPF links for sockmap/sockhash programs); running 6.1.0": 2,
        "a marker's reason": 1,
    })
    assert sorted(summary.failures) == [
        "test_sample::test_fails", "test_sample::test_passes_then_teardown_error",
        "test_sample::test_setup_error"]


def test_unreadable_or_broken_xml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VmTestError, match="cannot read the JUnit XML .*missing.xml"):
        parse_junit(tmp_path / "missing.xml")
    (tmp_path / "cut.xml").write_text("<testsuites><testsuite><testcase")
    with pytest.raises(VmTestError, match="cut.xml"):
        parse_junit(tmp_path / "cut.xml")


def test_table_with_reasons_failures_and_missing_results() -> None:
    ok = Summary(passed=200, skipped=2,
                 skip_reasons=Counter({"needs Linux 6.10 (sockmap links); running 6.1.0": 2}))
    bad = Summary(passed=10, failed=1, failures=["tests.kernel.test_x::test_y"])
    table = format_table([
        Row("6.1", "6.1.0-41-amd64", 0, 312.4, ok),
        Row("6.12", "6.12.57+deb13-amd64", 1, 250.0, bad),
        Row("/boot/vmlinuz-x", "vmlinuz-x", None, 900.0, None),
    ])
    assert table.splitlines() == [
        "kernel           release              status   passed  failed  skipped  time",
        "6.1              6.1.0-41-amd64       0        200     0       2        312s",
        "6.12             6.12.57+deb13-amd64  1        10      1       0        250s",
        "/boot/vmlinuz-x  vmlinuz-x            no exit  -       -       -        900s",
        "skipped on 6.1:",
        "    2  needs Linux 6.10 (sockmap links); running 6.1.0",
        "failed on 6.12:",
        "  tests.kernel.test_x::test_y",
        "/boot/vmlinuz-x: no pytest results (the command wrote no JUnit XML)",
    ]
