"""Debian kernels for the VM tests: downloaded (never installed) with apt and unpacked.

``linux-image-<arch>`` of a Debian release is a metapackage; it is resolved to the real
``linux-image-6.x...`` package of that release, downloaded with a private apt state (so the
host's apt lists and caches are untouched) from the mirror the host's apt uses, unpacked with
``dpkg -x`` into ``~/.cache/bpf4py/kernels/VERSION`` and indexed with ``depmod`` so that the
guest can ``modprobe`` (veth, sch_ingress and cls_bpf are modules in Debian's kernels).

Example::

    from bpf4py.vmtest.kernels import resolve
    kernel = resolve("6.1")           # downloads once, then reuses the cache
    kernel.image, kernel.release      # .../boot/vmlinuz-6.1.0-...-amd64, "6.1.0-...-amd64"
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import VmTestError
from .sources import host_archive

# Kernel series -> the Debian release whose linux-image metapackage follows it.
DEBIAN_RELEASES = {"6.1": "bookworm", "6.12": "trixie"}
# Modules the kernel tests load (veth pairs, tc ingress/clsact, cls_bpf filters).
REQUIRED_MODULES = ("veth", "sch_ingress", "cls_bpf")
RELEASE_FILE = "release"


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel: ``name`` as the user gave it, the image, and ``uname -r`` when
    known (Debian kernels) -- virtme-ng finds the modules beside the image."""

    name: str
    image: Path
    release: str | None = None


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/bpf4py/kernels`` (``~/.cache/bpf4py/kernels`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bpf4py" / "kernels"


def resolve(spec: str, cache: Path | None = None, *, refresh: bool = False) -> Kernel:
    """``"6.1"``/``"6.12"`` -> the cached Debian kernel (fetched when missing or when
    ``refresh``); any other spec must be the path of a kernel image."""
    if spec in DEBIAN_RELEASES:
        directory = (cache or cache_root()) / spec
        with _locked(directory.with_name(spec + ".lock")):
            kernel = None if refresh else cached(spec, directory)
            return kernel or fetch(spec, directory)
    path = Path(spec)
    if path.is_file():
        return Kernel(spec, path.resolve())
    raise VmTestError(f"unknown kernel {spec!r}: give a version "
                      f"({', '.join(DEBIAN_RELEASES)}) or the path of a kernel image")


def cached(version: str, directory: Path) -> Kernel | None:
    """The kernel unpacked in ``directory`` by an earlier :func:`fetch`, or None."""
    marker = directory / RELEASE_FILE
    if not marker.is_file():
        return None
    release = marker.read_text().strip()
    image = directory / "root" / "boot" / f"vmlinuz-{release}"
    return Kernel(version, image, release) if image.is_file() else None


def fetch(version: str, directory: Path) -> Kernel:
    """Download, unpack and depmod Debian's current kernel of ``version`` into ``directory``
    (replacing what is there)."""
    suite = DEBIAN_RELEASES[version]
    apt = _AptState(directory.parent / "apt" / suite)
    apt.prepare(host_archive().sources(suite))
    _run(["apt-get", *apt.options, "-q", "update"], f"apt-get update for Debian {suite}")
    package = real_image_package(
        _run(["apt-cache", *apt.options, "show", "--no-all-versions", f"linux-image-{_arch()}"],
             f"looking up linux-image-{_arch()} in Debian {suite}"))
    work = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run(["apt-get", *apt.options, "-q", "download", package], f"downloading {package}",
         cwd=work)
    debs = sorted(work.glob("*.deb"))
    if len(debs) != 1:
        raise VmTestError(f"apt-get download {package} left {len(debs)} .deb files in {work}")
    _run(["dpkg", "-x", str(debs[0]), str(work / "root")], f"unpacking {debs[0].name}")
    debs[0].unlink()
    release = _depmod(work / "root")
    if not (work / "root" / "boot" / f"vmlinuz-{release}").is_file():
        raise VmTestError(f"{package} has no /boot/vmlinuz-{release}")
    (work / RELEASE_FILE).write_text(release + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    work.rename(directory)
    kernel = cached(version, directory)
    assert kernel is not None
    return kernel


def real_image_package(show: str) -> str:
    """The ``linux-image-6.x...`` package a ``linux-image-<arch>`` metapackage depends on,
    from ``apt-cache show`` output."""
    match = re.search(r"^Depends:.*?\b(linux-image-\d[^\s,()]*)", show, re.MULTILINE)
    if match is None:
        raise VmTestError("linux-image metapackage without a linux-image-6.x dependency:\n"
                          + show[:500])
    return match.group(1)


def modules_dir(root: Path) -> Path:
    """``root/lib/modules/RELEASE`` (bookworm) or ``root/usr/lib/modules/RELEASE`` (trixie)."""
    found = [d for base in ("lib", "usr/lib") for d in (root / base / "modules").glob("*")
             if d.is_dir()]
    if len(found) != 1:
        raise VmTestError(f"expected one kernel modules directory under {root}, found "
                          f"{[str(d) for d in found]}")
    return found[0]


def missing_modules(moddir: Path, names: tuple[str, ...] = REQUIRED_MODULES) -> list[str]:
    """The ``names`` neither built in nor listed in ``modules.dep`` of ``moddir``."""
    listed = set()
    for index in ("modules.dep", "modules.builtin"):
        path = moddir / index
        if path.is_file():
            for line in path.read_text().splitlines():
                module = line.split(":", 1)[0].rsplit("/", 1)[-1].split(".", 1)[0]
                listed.add(module.replace("-", "_"))
    return [n for n in names if n not in listed]


def _depmod(root: Path) -> str:
    moddir = modules_dir(root)
    base = moddir.parents[2]  # depmod -b BASE looks in BASE/lib/modules
    _run(["depmod", "-b", str(base), moddir.name], f"depmod for {moddir}")
    missing = missing_modules(moddir)
    if missing:
        raise VmTestError(f"kernel {moddir.name} lacks modules the tests need: {missing}")
    return moddir.name


class _AptState:
    """A private apt configuration: its own lists, cache, status and sources."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        empty = directory / "empty.d"
        self.options = [
            "-o", f"Dir::State={directory / 'state'}",
            "-o", f"Dir::State::status={directory / 'state' / 'status'}",
            "-o", f"Dir::Cache={directory / 'cache'}",
            "-o", f"Dir::Etc::SourceList={empty / 'sources.list'}",
            "-o", f"Dir::Etc::SourceParts={directory / 'sources.list.d'}",
            "-o", f"Dir::Etc::Preferences={empty / 'preferences'}",
            "-o", f"Dir::Etc::PreferencesParts={empty}",
            "-o", "Acquire::Languages=none",
        ]
        if os.geteuid() == 0:  # the _apt sandbox user cannot write into root's cache
            self.options += ["-o", "APT::Sandbox::User=root"]

    def prepare(self, sources: str) -> None:
        """Create the directories and write ``sources`` (deb822) as the only apt source."""
        for sub in ("state/lists/partial", "cache/archives/partial", "empty.d",
                    "sources.list.d"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "state" / "status").touch()
        (self.directory / "sources.list.d" / "debian.sources").write_text(sources)


def _arch() -> str:
    return _run(["dpkg", "--print-architecture"], "dpkg --print-architecture").strip()


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise VmTestError(f"{what}: {cmd[0]} is not installed (make test-vm installs it)") \
            from None
    if proc.returncode != 0:
        raise VmTestError(f"{what} failed (exit {proc.returncode}):\n"
                          + (proc.stderr or proc.stdout).strip()[-2000:])
    return proc.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise fetches of one kernel between processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
