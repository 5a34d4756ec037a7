"""Map families, one module each.

Every module of this package is imported here, and every Map subclass registers the map
types it declares in ``MAP_TYPES``, so ``MAP_CLASSES`` (kernel map type -> class the loader
builds) needs no list kept by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..types import MapType
from .array import Array, PerCpuArray
from .base import MAP_CLASSES, Map, possible_cpus
from .bloom_filter import BloomFilter
from .hash_map import HashMap, LruHashMap, LruPerCpuHashMap, PerCpuHashMap
from .lpm_trie import LpmTrie
from .program_array import ProgramArray
from .queue_stack import Queue, Stack
from .ring_buf import RingBuf
from .sock import SockHash, SockMap

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "MAP_CLASSES",
    "Array",
    "BloomFilter",
    "HashMap",
    "LpmTrie",
    "LruHashMap",
    "LruPerCpuHashMap",
    "Map",
    "MapType",
    "PerCpuArray",
    "PerCpuHashMap",
    "ProgramArray",
    "Queue",
    "RingBuf",
    "SockHash",
    "SockMap",
    "Stack",
    "possible_cpus",
]
