"""Map families, one module each.

Every Map subclass registers the map types it declares in ``MAP_TYPES`` when its module is
imported; the modules are imported on first need (see :mod:`bpf4py._families`), so
``MAP_CLASSES`` (kernel map type -> class the loader builds) needs no list kept by hand and
``import bpf4py`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._families import Family
from ..types import MapType
from .base import MAP_CLASSES, Map, possible_cpus

_family = Family(__name__, __path__)
load_all = _family.load_all


def __getattr__(name: str) -> object:
    return _family.attr(name)


if TYPE_CHECKING:
    from .arena import Arena
    from .array import Array, PerCpuArray
    from .bloom_filter import BloomFilter
    from .btf_codec import BtfStruct
    from .cgroup_array import CgroupArray
    from .cpu_map import CpuMap
    from .dev_map import DevMap, DevMapHash
    from .hash_map import HashMap, LruHashMap, LruPerCpuHashMap, PerCpuHashMap
    from .lpm_trie import LpmTrie
    from .of_maps import ArrayOfMaps, HashOfMaps
    from .perf_event_array import PerfEventArray
    from .program_array import ProgramArray
    from .queue_stack import Queue, Stack
    from .reuseport import ReusePortSockArray
    from .ring_buf import RingBuf
    from .sock import SockHash, SockMap
    from .stack_trace import StackTrace, StackTraceMap
    from .storage import CgrpStorage, InodeStorage, SkStorage, TaskStorage
    from .user_ring_buf import UserRingBuf
    from .xsk_map import XskMap

__all__ = [
    "Arena",
    "Array",
    "ArrayOfMaps",
    "BloomFilter",
    "BtfStruct",
    "CgroupArray",
    "CgrpStorage",
    "CpuMap",
    "DevMap",
    "DevMapHash",
    "HashMap",
    "HashOfMaps",
    "InodeStorage",
    "LpmTrie",
    "LruHashMap",
    "LruPerCpuHashMap",
    "MAP_CLASSES",
    "Map",
    "MapType",
    "PerCpuArray",
    "PerCpuHashMap",
    "PerfEventArray",
    "ProgramArray",
    "Queue",
    "ReusePortSockArray",
    "RingBuf",
    "SkStorage",
    "SockHash",
    "SockMap",
    "Stack",
    "StackTrace",
    "StackTraceMap",
    "TaskStorage",
    "UserRingBuf",
    "XskMap",
    "possible_cpus",
]
