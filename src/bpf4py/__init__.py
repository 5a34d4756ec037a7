"""bpf4py: load and drive eBPF programs from Python (libbpf through CFFI, aya's API).

Example::

    import socket
    from bpf4py import Ebpf, SocketFilter

    with Ebpf.load_file("counter.bpf.o") as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        prog.attach(sock)
        ...
        print(dict(ebpf.map("COUNTS").items()))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .btf import Btf
from .errors import (
    BpfError,
    BtfError,
    ClosedError,
    FeatureNotSupported,
    IndexOutOfBounds,
    InvalidKeySize,
    InvalidMapType,
    InvalidValueSize,
    KeyNotFound,
    LinkError,
    MapError,
    MissingDependency,
    NotLoadedError,
    ObjectError,
    PinError,
    ProgramError,
)
from .info import (
    LinkInfo,
    MapInfo,
    ProgramInfo,
    loaded_links,
    loaded_maps,
    loaded_programs,
)
from .links import FdLink, Link, LinkId, PinnedLink
from .loader import Ebpf, EbpfLoader, VerifierLogLevel
from .maps.base import Map
from .programs.base import Program
from .programs.test_run import TestRunOptions, TestRunResult
from .types import AttachType, MapType, ProgramType

if TYPE_CHECKING:
    from .maps import (
        Arena,
        Array,
        ArrayOfMaps,
        BloomFilter,
        CgroupArray,
        CgrpStorage,
        CpuMap,
        DevMap,
        DevMapHash,
        HashMap,
        HashOfMaps,
        InodeStorage,
        LpmTrie,
        LruHashMap,
        LruPerCpuHashMap,
        PerCpuArray,
        PerCpuHashMap,
        PerfEventArray,
        ProgramArray,
        Queue,
        ReusePortSockArray,
        RingBuf,
        SkStorage,
        SockHash,
        SockMap,
        Stack,
        StackTrace,
        StackTraceMap,
        TaskStorage,
        UserRingBuf,
        XskMap,
    )
    from .programs import (
        CgroupAttachMode,
        CgroupSkb,
        CgroupSkbAttachType,
        NetlinkXdpLink,
        RawTracePoint,
        SkMsg,
        SkReuseport,
        SkSkb,
        SkSkbKind,
        SocketFilter,
        Syscall,
        TracePoint,
        Xdp,
        XdpAttachType,
        XdpFlags,
        XdpPrograms,
        attached_xdp_programs,
    )


def __getattr__(name: str) -> object:
    """Program and map classes (``SockMap``, ``CgroupSkb``, ...) load on first use."""
    from . import maps, programs

    for package in (programs, maps):
        try:
            return getattr(package, name)
        except AttributeError:
            pass
    raise AttributeError(f"module 'bpf4py' has no attribute {name!r}")


__all__ = [
    "Arena",
    "Array",
    "ArrayOfMaps",
    "AttachType",
    "BloomFilter",
    "BpfError",
    "Btf",
    "BtfError",
    "CgroupArray",
    "CgroupAttachMode",
    "CgroupSkb",
    "CgroupSkbAttachType",
    "CgrpStorage",
    "ClosedError",
    "CpuMap",
    "DevMap",
    "DevMapHash",
    "Ebpf",
    "EbpfLoader",
    "FdLink",
    "FeatureNotSupported",
    "HashMap",
    "HashOfMaps",
    "IndexOutOfBounds",
    "InodeStorage",
    "InvalidKeySize",
    "InvalidMapType",
    "InvalidValueSize",
    "KeyNotFound",
    "Link",
    "LinkError",
    "LinkId",
    "LinkInfo",
    "LpmTrie",
    "LruHashMap",
    "LruPerCpuHashMap",
    "Map",
    "MapError",
    "MapInfo",
    "MapType",
    "MissingDependency",
    "NetlinkXdpLink",
    "NotLoadedError",
    "ObjectError",
    "PerCpuArray",
    "PerCpuHashMap",
    "PerfEventArray",
    "PinError",
    "PinnedLink",
    "Program",
    "ProgramArray",
    "ProgramError",
    "ProgramInfo",
    "ProgramType",
    "Queue",
    "RawTracePoint",
    "ReusePortSockArray",
    "RingBuf",
    "SkMsg",
    "SkReuseport",
    "SkSkb",
    "SkSkbKind",
    "SkStorage",
    "SockHash",
    "SockMap",
    "SocketFilter",
    "Stack",
    "StackTrace",
    "StackTraceMap",
    "Syscall",
    "TaskStorage",
    "TestRunOptions",
    "TestRunResult",
    "TracePoint",
    "UserRingBuf",
    "VerifierLogLevel",
    "Xdp",
    "XdpAttachType",
    "XdpFlags",
    "XdpPrograms",
    "XskMap",
    "__version__",
    "attached_xdp_programs",
    "loaded_links",
    "loaded_maps",
    "loaded_programs",
]
