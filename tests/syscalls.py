"""Syscall numbers the tracing tests filter on (BPF programs see numbers, not names)."""

from __future__ import annotations

import platform

_GETPPID = {"x86_64": 110, "aarch64": 173}


def getppid_nr() -> int:
    """The number of getppid(2) on this machine; fails loudly on an unknown architecture."""
    machine = platform.machine()
    if machine not in _GETPPID:
        raise AssertionError(f"no getppid syscall number known for {machine}; add it to "
                             "tests/syscalls.py")
    return _GETPPID[machine]
