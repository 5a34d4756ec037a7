"""The file systems eBPF work needs: bpffs for pins, cgroup v2 for cgroup programs.

Example::

    from bpf4py.fs import ensure_bpffs, cgroup2_mount
    ensure_bpffs()            # mounts bpffs on /sys/fs/bpf if nothing is mounted there
    root = cgroup2_mount()    # e.g. "/sys/fs/cgroup" or "/sys/fs/cgroup/unified"
"""

from __future__ import annotations

import os

from ._native import fs as _fs
from ._native.fs import fs_type, mounts
from .errors import BpfError, PinError

DEFAULT_BPFFS = "/sys/fs/bpf"

__all__ = ["DEFAULT_BPFFS", "cgroup2_mount", "ensure_bpffs", "fs_type", "is_bpffs"]


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
    for point, kind in mounts():
        if kind == "cgroup2":
            return point
    raise BpfError("no cgroup v2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
