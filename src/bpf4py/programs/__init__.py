"""Program families, one module each.

Every Program subclass that sets ``PROGRAM_TYPE`` registers itself when its module is
imported; the modules are imported on first need (see :mod:`bpf4py._families`), so
``PROGRAM_CLASSES`` (kernel program type -> class the loader builds) needs no list kept by
hand and ``import bpf4py`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._families import Family
from ..types import ProgramType
from .base import PROGRAM_CLASSES, Program

_family = Family(__name__, __path__)
load_all = _family.load_all


def __getattr__(name: str) -> object:
    return _family.attr(name)


if TYPE_CHECKING:
    from .cgroup import CgroupAttachMode
    from .cgroup_skb import CgroupSkb, CgroupSkbAttachType
    from .raw_trace_point import RawTracePoint
    from .sk_msg import SkMsg
    from .sk_reuseport import SkReuseport
    from .sk_skb import SkSkb, SkSkbKind
    from .socket_filter import SocketFilter
    from .syscall import Syscall
    from .test_run import TestRunOptions, TestRunResult
    from .trace_point import TracePoint
    from .xdp import (
        NetlinkXdpLink,
        Xdp,
        XdpAttachType,
        XdpFlags,
        XdpPrograms,
        attached_xdp_programs,
    )

__all__ = [
    "CgroupAttachMode",
    "CgroupSkb",
    "CgroupSkbAttachType",
    "NetlinkXdpLink",
    "PROGRAM_CLASSES",
    "Program",
    "ProgramType",
    "RawTracePoint",
    "SkMsg",
    "SkReuseport",
    "SkSkb",
    "SkSkbKind",
    "SocketFilter",
    "Syscall",
    "TestRunOptions",
    "TestRunResult",
    "TracePoint",
    "Xdp",
    "XdpAttachType",
    "XdpFlags",
    "XdpPrograms",
    "attached_xdp_programs",
]
