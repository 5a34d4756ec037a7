"""Mounting pseudo file systems (bpffs, tracefs) through mount(2), and telling which file
system a path is on."""

from __future__ import annotations

import os

from bpf4py.errors import PinError

from ._lib import ffi, lib
from .check import fail_errno


def mount(fstype: str, target: str) -> None:
    """``mount -t fstype fstype target``."""
    if lib.mount(fstype.encode(), target.encode(), fstype.encode(), 0, ffi.NULL) != 0:
        fail_errno(PinError, f"mounting {fstype} at {target}",
                   "mounting needs root (CAP_SYS_ADMIN)")


def mounts() -> list[tuple[str, str]]:
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
    for point, kind in mounts():
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, best_type = point, kind
    return best_type
