"""The file systems eBPF work needs: bpffs for pins, cgroup v2 for cgroup programs.

Example::

    from bpf4py.fs import ensure_bpffs, cgroup2_mount
    ensure_bpffs()            # mounts bpffs on /sys/fs/bpf if nothing is mounted there
    root = cgroup2_mount()    # e.g. "/sys/fs/cgroup" or "/sys/fs/cgroup/unified"
"""

from __future__ import annotations

import os

from ._native import fs as _fs
from .errors import BpfError, PinError

DEFAULT_BPFFS = "/sys/fs/bpf"


def _mounts() -> list[tuple[str, str]]:
    """(mount point, fs type) of every mount, from /proc/self/mounts."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                found.append((parts[1].replace("\\040", " "), parts[2]))
    return found


def fs_type(path: str) -> str | None:
    """The type of the file system ``path`` lives on (longest matching mount point)."""
    path = os.path.realpath(path)
    best, best_type = "", None
    for point, kind in _mounts():
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, best_type = point, kind
    return best_type


def is_bpffs(path: str) -> bool:
    return fs_type(path) == "bpf"


def ensure_bpffs(path: str = DEFAULT_BPFFS) -> str:
    """Make sure ``path`` is on a bpffs, mounting one there when it is not; returns ``path``.

    Raises PinError (a PermissionError without root) when mounting fails.
    """
    if is_bpffs(path):
        return path
    os.makedirs(path, exist_ok=True)
    _fs.mount("bpf", path)
    if not is_bpffs(path):  # pragma: no cover - mount said yes but nothing is there
        raise PinError(f"mounted bpffs at {path} but it does not show in /proc/self/mounts")
    return path


def cgroup2_mount() -> str:
    """Where the cgroup v2 hierarchy is mounted; BpfError when it is not mounted."""
    for point, kind in _mounts():
        if kind == "cgroup2":
            return point
    raise BpfError("no cgroup v2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
