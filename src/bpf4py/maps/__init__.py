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
from .hash_map import HashMap, LruHashMap, LruPerCpuHashMap, PerCpuHashMap
from .program_array import ProgramArray
from .sock import SockHash, SockMap

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "MAP_CLASSES",
    "Array",
    "HashMap",
    "LruHashMap",
    "LruPerCpuHashMap",
    "Map",
    "MapType",
    "PerCpuArray",
    "PerCpuHashMap",
    "ProgramArray",
    "SockHash",
    "SockMap",
    "possible_cpus",
]
