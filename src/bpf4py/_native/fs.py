"""Mounting pseudo file systems (bpffs, tracefs) through mount(2)."""

from __future__ import annotations

from bpf4py.errors import PinError

from ._lib import ffi, lib
from .check import fail_errno


def mount(fstype: str, target: str) -> None:
    """``mount -t fstype fstype target``."""
    if lib.mount(fstype.encode(), target.encode(), fstype.encode(), 0, ffi.NULL) != 0:
        fail_errno(PinError, f"mounting {fstype} at {target}",
                   "mounting needs root (CAP_SYS_ADMIN)")
