"""Reading the host's apt sources: deb822 and one-line formats, main and security archives."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpf4py.vmtest.errors import VmTestError
from bpf4py.vmtest.sources import (
    AptSource,
    find_archive,
    host_archive,
    host_sources,
    parse_deb822,
    parse_one_line,
)

DEB822 = """\
Types: deb
# a comment between fields
URIs: http://mirror.invalid/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.invalid/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.invalid/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 /usr/share/keyrings/security.gpg
"""

ONE_LINE = """\
# deb http://commented.invalid/debian bookworm main
deb-src http://src.invalid/debian bookworm main
deb [arch=amd64 signed-by=/etc/apt/keyrings/k.gpg] http://one.invalid/debian/ trixie main contrib
deb http://security.invalid/debian-security trixie-security main # trailing comment
"""


def test_deb822_stanzas() -> None:
    sources = parse_deb822(DEB822)
    assert sources == [
        AptSource("http://mirror.invalid/debian", ("bookworm", "bookworm-updates"),
                  ("main", "contrib"), "/usr/share/keyrings/debian-archive-keyring.gpg"),
        AptSource("http://mirror.invalid/debian-security", ("bookworm-security",), ("main",),
                  "/usr/share/keyrings/security.gpg"),
    ]


def test_one_line_entries() -> None:
    assert parse_one_line(ONE_LINE) == [
        AptSource("http://one.invalid/debian", ("trixie",), ("main", "contrib"),
                  "/etc/apt/keyrings/k.gpg"),
        AptSource("http://security.invalid/debian-security", ("trixie-security",), ("main",)),
    ]


def test_archive_and_generated_sources() -> None:
    archive = find_archive(parse_deb822(DEB822))
    assert archive.main.uri == "http://mirror.invalid/debian"
    assert archive.security is not None
    text = archive.sources("trixie")
    assert text == (
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: trixie-security\n"
        "Components: main\nSigned-By: /usr/share/keyrings/security.gpg\n")
    # What it writes, it reads back the same way.
    assert [s.uri for s in parse_deb822(text)] == [archive.main.uri, archive.security.uri]


def test_archive_without_security_and_without_signed_by() -> None:
    archive = find_archive(parse_one_line("deb http://plain.invalid/debian bookworm main\n"))
    assert archive.security is None
    assert archive.sources("trixie") == (
        "Types: deb\nURIs: http://plain.invalid/debian\nSuites: trixie\nComponents: main\n")


def test_inline_key_block_survives_the_round_trip() -> None:
    key = ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBGPL0BUBEADmW5NdOOHwPIJl\n"
           " -----END PGP PUBLIC KEY BLOCK-----")
    text = f"Types: deb\nURIs: http://k.invalid/debian\nSuites: bookworm\nComponents: main\n" \
           f"Signed-By:\n {key}\n"
    (source,) = parse_deb822(text)
    assert source.signed_by == key.replace("\n ", "\n")
    out = find_archive([source]).sources("trixie")
    assert out.endswith("Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"
                        " mQINBGPL0BUBEADmW5NdOOHwPIJl\n -----END PGP PUBLIC KEY BLOCK-----\n")
    assert parse_deb822(out)[0].signed_by == source.signed_by


def test_only_extra_suites_or_other_components_is_an_error() -> None:
    with pytest.raises(VmTestError, match="no Debian archive"):
        find_archive(parse_one_line("deb http://x.invalid/debian bookworm-updates main\n"
                                    "deb http://x.invalid/debian bookworm contrib\n"))
    with pytest.raises(VmTestError, match="no Debian archive"):
        find_archive([])


def test_host_sources_reads_the_list_then_the_parts_in_order(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://first.invalid/debian bookworm main\n")
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "b.sources").write_text(DEB822)
    (parts / "a.list").write_text(ONE_LINE)
    (parts / "c.list.disabled").write_text("deb http://ignored.invalid/debian sid main\n")
    uris = [s.uri for s in host_sources(tmp_path)]
    assert uris == ["http://first.invalid/debian", "http://one.invalid/debian",
                    "http://security.invalid/debian-security", "http://mirror.invalid/debian",
                    "http://mirror.invalid/debian-security"]
    assert host_archive(tmp_path).main.uri == "http://first.invalid/debian"


def test_this_machines_sources_give_an_archive() -> None:
    """The real /etc/apt of this machine (the one `make test-vm` downloads kernels with)."""
    archive = host_archive()
    assert archive.main.uri.startswith(("http://", "https://", "file:", "mirror+"))
    assert "main" in archive.main.components
