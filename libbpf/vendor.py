#!/usr/bin/env python3
"""Fetch, verify, unpack and build the pinned libbpf release as a static PIC ``libbpf.a``.

The pin lives in ``libbpf/VERSION``.  The release tarball is Debian's ``.orig.tar.gz`` of the
``libbpf`` source package, fetched from the archive mirror this machine's apt already uses
(read from the apt sources at run time).  Nothing of libbpf's source is committed: it is
unpacked into ``libbpf/source/`` (git-ignored) and carried by the sdist, so an sdist builds
without network.

Overrides (environment):
  BPF4PY_LIBBPF_TARBALL=/path/to/libbpf_X.orig.tar.gz   use this tarball (sha256 still checked)

Usage:
  python libbpf/vendor.py fetch    # download + verify + unpack (no-op when unpacked)
  python libbpf/vendor.py build    # fetch if needed, then build libbpf.a and install headers
  python libbpf/vendor.py paths    # print the include and library directories
"""

from __future__ import annotations

import hashlib
import lzma
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "source"
BUILD_DIR = HERE / "build"
DOWNLOAD_DIR = HERE / "downloads"
STAMP = ".bpf4py-pin"
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")


class VendorError(RuntimeError):
    """Raised when the pinned libbpf cannot be fetched, verified or built."""


@dataclass(frozen=True)
class Pin:
    version: str
    tarball: str
    sha256: str
    source_package: str
    suites: tuple[str, ...]

    @property
    def stamp(self) -> str:
        return f"{self.version} {self.sha256}"


@dataclass(frozen=True)
class Built:
    include_dir: Path
    lib_dir: Path
    static_lib: Path


def read_pin(path: Path = HERE / "VERSION") -> Pin:
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    try:
        return Pin(
            version=fields["version"],
            tarball=fields["tarball"],
            sha256=fields["sha256"].lower(),
            source_package=fields["source_package"],
            suites=tuple(fields["suites"].split()),
        )
    except KeyError as exc:
        raise VendorError(f"{path}: missing key {exc.args[0]!r}") from None


def _log(msg: str) -> None:
    print(f"[libbpf] {msg}", file=sys.stderr, flush=True)


# --- apt mirror discovery -------------------------------------------------------------------


def _one_line_entries(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        # deb [opts] URI suite components...
        m = re.match(r"^(deb|deb-src)\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            uris.append((m.group(3), m.group(4)))
    return [uri for uri, suite in uris if "security" not in suite and "security" not in uri]


def _deb822_entries(text: str) -> list[str]:
    uris = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        types = fields.get("types", "").split()
        if not {"deb", "deb-src"} & set(types):
            continue
        suites = fields.get("suites", "")
        for uri in fields.get("uris", "").split():
            if "security" in uri or "security" in suites:
                continue
            uris.append(uri)
    return uris


def apt_mirrors() -> list[str]:
    """The archive URIs this machine's apt is configured with (security archives excluded)."""
    found: list[str] = []
    if APT_SOURCES.is_file():
        found += _one_line_entries(APT_SOURCES.read_text())
    if APT_SOURCES_DIR.is_dir():
        for f in sorted(APT_SOURCES_DIR.iterdir()):
            if f.suffix == ".list":
                found += _one_line_entries(f.read_text())
            elif f.suffix == ".sources":
                found += _deb822_entries(f.read_text())
    mirrors = []
    for uri in found:
        uri = uri.rstrip("/")
        if uri.startswith(("http://", "https://")) and uri not in mirrors:
            mirrors.append(uri)
    return mirrors


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:
        data: bytes = resp.read()
        return data


def _find_in_sources(mirror: str, suite: str, pin: Pin) -> str | None:
    """Return the pool directory of the pinned tarball in `suite`, or None."""
    try:
        sources = lzma.decompress(_get(f"{mirror}/dists/{suite}/main/source/Sources.xz"))
    except (urllib.error.URLError, OSError, lzma.LZMAError):
        return None
    for stanza in sources.decode("utf-8", "replace").split("\n\n"):
        if f"\nPackage: {pin.source_package}\n" not in f"\n{stanza}\n":
            continue
        directory = re.search(r"^Directory: (\S+)$", stanza, re.M)
        if directory and re.search(rf"^ {pin.sha256} \d+ {re.escape(pin.tarball)}$", stanza, re.M):
            return directory.group(1)
    return None


def download(pin: Pin) -> Path:
    """Download the pinned tarball through the machine's apt mirror (cached in downloads/)."""
    target = DOWNLOAD_DIR / pin.tarball
    if target.is_file() and _sha256(target) == pin.sha256:
        return target
    mirrors = apt_mirrors()
    if not mirrors:
        raise VendorError(
            "no apt mirror found in the system's apt sources; set BPF4PY_LIBBPF_TARBALL to a "
            f"local copy of {pin.tarball} (sha256 {pin.sha256})"
        )
    tried = []
    for mirror in mirrors:
        for suite in pin.suites:
            tried.append(f"{suite}")
            directory = _find_in_sources(mirror, suite, pin)
            if directory is None:
                continue
            url = f"{mirror}/{directory}/{pin.tarball}"
            _log(f"downloading {pin.tarball} from suite {suite}")
            data = _get(url)
            DOWNLOAD_DIR.mkdir(exist_ok=True)
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            return target
    raise VendorError(
        f"libbpf {pin.version} ({pin.tarball}) is not carried by any of the suites "
        f"{', '.join(pin.suites)} on this machine's apt mirror(s). Download {pin.tarball} "
        f"(sha256 {pin.sha256}) yourself and pass it with BPF4PY_LIBBPF_TARBALL=/path/to/it, "
        "or move the pin in libbpf/VERSION."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, pin: Pin) -> None:
    digest = _sha256(path)
    if digest != pin.sha256:
        raise VendorError(
            f"{path}: sha256 {digest} does not match the pinned {pin.sha256} of libbpf "
            f"{pin.version}; refusing to build from it"
        )


def unpack(tarball: Path, pin: Pin) -> Path:
    """Unpack into libbpf/source/ (top-level directory stripped) and stamp it with the pin."""
    tmp = HERE / "source.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        for member in members:
            parts = Path(member.name).parts
            if len(parts) < 2 or ".." in parts or member.issym() or member.islnk():
                continue
            member.name = str(Path(*parts[1:]))
            if hasattr(tarfile, "data_filter"):
                tar.extract(member, tmp, filter="data")
            else:
                tar.extract(member, tmp)
    (tmp / STAMP).write_text(pin.stamp + "\n")
    shutil.rmtree(SOURCE_DIR, ignore_errors=True)
    tmp.replace(SOURCE_DIR)
    return SOURCE_DIR


def _source_is_current(pin: Pin) -> bool:
    stamp = SOURCE_DIR / STAMP
    return stamp.is_file() and stamp.read_text().strip() == pin.stamp


def fetch(pin: Pin | None = None) -> Path:
    """Make sure libbpf/source/ holds the pinned release; return it."""
    pin = pin or read_pin()
    if _source_is_current(pin):
        return SOURCE_DIR
    given = os.environ.get("BPF4PY_LIBBPF_TARBALL")
    tarball = Path(given) if given else download(pin)
    if not tarball.is_file():
        raise VendorError(f"BPF4PY_LIBBPF_TARBALL={given}: no such file")
    verify(tarball, pin)
    _log(f"unpacking {tarball.name} into {SOURCE_DIR}")
    return unpack(tarball, pin)


def build(pin: Pin | None = None) -> Built:
    """Build libbpf.a (static, -fPIC, -O2) and install its headers under libbpf/build/."""
    pin = pin or read_pin()
    source = fetch(pin)
    out = Built(BUILD_DIR / "include", BUILD_DIR / "lib", BUILD_DIR / "lib" / "libbpf.a")
    stamp = BUILD_DIR / STAMP
    if out.static_lib.is_file() and stamp.is_file() and stamp.read_text().strip() == pin.stamp:
        return out
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    jobs = str(os.cpu_count() or 1)
    cmd = [
        "make", "-C", str(source / "src"), "-j", jobs,
        "BUILD_STATIC_ONLY=1",
        f"OBJDIR={BUILD_DIR / 'obj'}",
        f"DESTDIR={BUILD_DIR}",
        "PREFIX=/", "LIBDIR=/lib", "INCLUDEDIR=/include", "UAPIDIR=/include",
        # EXTRA_CFLAGS is appended to libbpf's own CFLAGS (-g -O2 ...); overriding CFLAGS
        # would drop -O2.
        "EXTRA_CFLAGS=-fPIC",
        "install", "install_uapi_headers",
    ]
    _log(f"building libbpf {pin.version} (static, PIC) on {platform.machine()}")
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise VendorError(f"cannot build libbpf: {exc.filename} not found (install make, gcc)")
    except subprocess.CalledProcessError as exc:
        raise VendorError(
            f"building libbpf failed (exit {exc.returncode}); it needs a C compiler, make, "
            "libelf-dev and zlib1g-dev"
        ) from None
    if not out.static_lib.is_file():
        raise VendorError(f"libbpf's build did not produce {out.static_lib}")
    stamp.write_text(pin.stamp + "\n")
    return out


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "build"
    try:
        if cmd == "fetch":
            print(fetch())
        elif cmd == "build":
            built = build()
            print(built.static_lib)
        elif cmd == "paths":
            built = build()
            print(built.include_dir)
            print(built.lib_dir)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except VendorError as exc:
        print(f"[libbpf] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
