"""What the running kernel supports: its version, and whether it has a map or program type.

The type probes are libbpf's (``libbpf_probe_bpf_map_type``/``_prog_type``: each creates the
smallest map, or loads the smallest program, of the type) and run once per process.  bpf4py
asks them itself when creating a map or loading a program failed, so that a type the kernel
does not have raises :class:`~bpf4py.errors.FeatureNotSupported` naming the Linux version that
has it, instead of a bare ``EINVAL``.  Probing needs the privileges loading needs.

Example::

    from bpf4py import features
    from bpf4py.types import MapType

    if not features.is_map_supported(MapType.ARENA):
        print("Linux", features.kernel_version(), "has no arena maps (6.9+)")
"""

from __future__ import annotations

import errno
import functools
import os
import re
from typing import Literal

from ._native import bpf as _bpf
from ._native.check import ENOTSUPP
from .errors import BpfError, FeatureNotSupported
from .types import MapType, ProgramType


@functools.cache
def kernel_version() -> tuple[int, int, int]:
    """The running kernel's version from ``uname -r`` (``"6.1.0-41-amd64"`` -> ``(6, 1, 0)``)."""
    return parse_version(os.uname().release)


def parse_version(text: str) -> tuple[int, int, int]:
    """``"6.1.0-41-amd64"`` -> ``(6, 1, 0)``; ``"6.10"`` -> ``(6, 10, 0)``."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"not a kernel version: {text!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@functools.cache
def is_map_supported(map_type: MapType | int) -> bool:
    """Whether the running kernel can create maps of ``map_type`` (probed once); BpfError
    (ENOTSUP) for a type number libbpf does not know how to probe."""
    return _bpf.probe_map_type(int(map_type))


@functools.cache
def is_program_supported(prog_type: ProgramType | int) -> bool:
    """Whether the running kernel can load programs of ``prog_type`` (probed once); BpfError
    (ENOTSUP) for a type number libbpf does not know how to probe."""
    return _bpf.probe_program_type(int(prog_type))


# The errnos of a map or program type the kernel does not know (or was built without).
_UNKNOWN_TYPE_ERRNOS = (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP)


def raise_if_unsupported(
    kind: Literal["map", "program"], type_value: int, doing: str, cause: BpfError, min_kernel: str
) -> None:
    """Raise FeatureNotSupported (from ``cause``) when the failure of ``doing`` is the kernel
    lacking map or program type ``type_value`` (``kind`` "map" or "program"); return, for the
    caller to re-raise ``cause``, when the kernel has the type or the probe cannot tell."""
    if cause.errno not in _UNKNOWN_TYPE_ERRNOS:
        return
    probe, enum = ((is_map_supported, MapType) if kind == "map"
                   else (is_program_supported, ProgramType))
    try:
        if probe(type_value):
            return
    except BpfError:
        return
    try:
        label = f"{enum(type_value).name} {kind}s"
    except ValueError:
        label = f"{kind} type {type_value}"
    release = ".".join(map(str, kernel_version()))
    raise FeatureNotSupported(
        f"{doing}: the running kernel (Linux {release}) has no {label}", errno=cause.errno,
        min_kernel=min_kernel or None,
        hint=None if min_kernel else "a map or program type newer than this kernel",
    ) from cause
