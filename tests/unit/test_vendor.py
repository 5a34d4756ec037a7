"""libbpf/vendor.py: the pin, apt-source parsing and sha256 verification."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from libbpf import vendor

ROOT = Path(__file__).resolve().parents[2]


def test_pin_is_libbpf_1_7_0() -> None:
    pin = vendor.read_pin()
    assert pin.version == "1.7.0"
    assert pin.tarball == "libbpf_1.7.0.orig.tar.gz"
    assert pin.sha256 == "7ab5feffbf78557f626f2e3e3204788528394494715a30fc2070fcddc2051b7b"
    assert pin.suites[0] == "sid"


def test_parses_deb822_and_one_line_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text(
        "# comment\n"
        "deb http://mirror.example/debian bookworm main\n"
        "deb [arch=amd64] http://mirror.example/debian-security bookworm-security main\n"
    )
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://other.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://other.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nEnabled: no\nURIs: http://disabled.example/debian\nSuites: sid\n"
    )
    (d / "ignored.list.disabled").write_text("deb http://ignored.example/debian sid main\n")
    monkeypatch.setattr(vendor, "APT_SOURCES", one_line)
    monkeypatch.setattr(vendor, "APT_SOURCES_DIR", d)
    assert vendor.apt_mirrors() == ["http://mirror.example/debian", "http://other.example/debian"]


def test_sha256_mismatch_is_an_error(tmp_path: Path) -> None:
    fake = tmp_path / "libbpf_1.7.0.orig.tar.gz"
    fake.write_bytes(b"not the release")
    with pytest.raises(vendor.VendorError, match="does not match the pinned"):
        vendor.verify(fake, vendor.read_pin())


def test_tarball_override_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake.tar.gz"
    fake.write_bytes(b"x")
    pin = vendor.read_pin()
    monkeypatch.setenv("BPF4PY_LIBBPF_TARBALL", str(fake))
    monkeypatch.setattr(vendor, "SOURCE_DIR", tmp_path / "source")
    with pytest.raises(vendor.VendorError, match=hashlib.sha256(b"x").hexdigest()):
        vendor.fetch(pin)


def test_no_suite_carries_the_pin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(vendor, "apt_mirrors", lambda: ["http://mirror.invalid/debian"])
    monkeypatch.setattr(vendor, "_find_in_sources", lambda mirror, suite, pin: None)
    monkeypatch.setattr(vendor, "DOWNLOAD_DIR", tmp_path)
    with pytest.raises(vendor.VendorError, match="BPF4PY_LIBBPF_TARBALL"):
        vendor.download(vendor.read_pin())


def test_system_libbpf_below_minimum_fails_clearly(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    fake = tmp_path / "pkg-config"
    fake.write_text("#!/bin/sh\necho 1.1.0\n")
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "BPF4PY_SYSTEM_LIBBPF": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "build_ffi.py")], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert "the system's libbpf is 1.1.0, bpf4py needs libbpf >= 1.6" in proc.stderr
