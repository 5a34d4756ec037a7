"""The Debian archive this machine's apt already uses, read at run time.

Kernels are downloaded from the same mirror as every other package: its URI comes from
``/etc/apt/sources.list.d/*.sources`` (deb822) or ``*.list`` / ``/etc/apt/sources.list``
(one-line format), never from a constant.

Example::

    from bpf4py.vmtest.sources import host_archive
    archive = host_archive()                     # main + security URIs, keyrings
    text = archive.sources("trixie")             # a deb822 .sources file for a private apt
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import VmTestError

APT_ETC = Path("/etc/apt")
# Suites that are a release's extras rather than the release itself.
_EXTRA_SUFFIXES = ("-updates", "-backports", "-proposed-updates", "-backports-sloppy")


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` entry: where it points and with which key."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None = None


@dataclass(frozen=True)
class Archive:
    """The main and (optional) security archive of the host's Debian sources."""

    main: AptSource
    security: AptSource | None

    def sources(self, suite: str) -> str:
        """A deb822 ``.sources`` file for ``suite`` (and ``suite-security``), main only."""
        stanzas = [_stanza(self.main, suite)]
        if self.security is not None:
            stanzas.append(_stanza(self.security, f"{suite}-security"))
        return "\n".join(stanzas)


def _stanza(source: AptSource, suite: str) -> str:
    lines = ["Types: deb", f"URIs: {source.uri}", f"Suites: {suite}", "Components: main"]
    if source.signed_by:
        # A keyring path, or an inline key block written back as continuation lines.
        first, *rest = source.signed_by.split("\n")
        lines += [f"Signed-By: {first}".rstrip(), *(f" {line}" for line in rest)]
    return "\n".join(lines) + "\n"


def parse_deb822(text: str) -> list[AptSource]:
    """The ``Types: deb`` stanzas of a ``.sources`` file (``Enabled: no`` ones left out)."""
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0].isspace() and key is not None:  # continuation line
                fields[key] = (fields[key] + "\n" + raw.strip()).lstrip("\n")
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            found.append(AptSource(uri.rstrip("/"), tuple(fields.get("suites", "").split()),
                                   tuple(fields.get("components", "").split()),
                                   fields.get("signed-by") or None))
    return found


def parse_one_line(text: str) -> list[AptSource]:
    """The ``deb`` lines of a one-line-format sources.list."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        options: dict[str, str] = {}
        match = re.match(r"deb\s+\[([^\]]*)\]\s+(.*)", line)
        if match:
            for opt in match.group(1).split():
                name, _, value = opt.partition("=")
                options[name] = value
            rest = match.group(2).split()
        elif line.startswith("deb "):
            rest = line.split()[1:]
        else:
            continue
        if len(rest) >= 2:
            found.append(AptSource(rest[0].rstrip("/"), (rest[1],), tuple(rest[2:]),
                                   options.get("signed-by") or None))
    return found


def host_sources(etc: Path = APT_ETC) -> list[AptSource]:
    """Every ``deb`` entry the host's apt reads, in apt's order."""
    found = []
    main_list = etc / "sources.list"
    if main_list.is_file():
        found += parse_one_line(main_list.read_text())
    parts = etc / "sources.list.d"
    for path in sorted(parts.glob("*")) if parts.is_dir() else []:
        if path.suffix == ".sources":
            found += parse_deb822(path.read_text())
        elif path.suffix == ".list":
            found += parse_one_line(path.read_text())
    return found


def _is_release(suite: str) -> bool:
    return "/" not in suite and not suite.endswith(("-security", *_EXTRA_SUFFIXES))


def find_archive(sources: list[AptSource]) -> Archive:
    """The first entry that carries a plain release (``bookworm``) with ``main`` is the main
    archive; the first carrying ``<release>-security`` is the security archive."""
    main = next((s for s in sources if "main" in s.components and any(map(_is_release, s.suites))),
                None)
    if main is None:
        raise VmTestError("no Debian archive with a release suite and the main component in "
                          f"the apt sources under {APT_ETC} (needed to download kernels)")
    security = next((s for s in sources if any(x.endswith("-security") for x in s.suites)), None)
    return Archive(main, security)


def host_archive(etc: Path = APT_ETC) -> Archive:
    """The Debian archive the host's apt uses (see :func:`find_archive`)."""
    return find_archive(host_sources(etc))
