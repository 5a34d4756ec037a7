"""Hash maps: HashMap, LruHashMap, PerCpuHashMap, LruPerCpuHashMap."""

from __future__ import annotations

from typing import ClassVar

from ..types import MapType
from .base import KeyValueMap


class HashMap(KeyValueMap):
    """A hash map (``BPF_MAP_TYPE_HASH``), with the dict protocol.

    Minimum kernel version: 3.19.

    With unsigned int keys and values of 1, 2, 4 or 8 bytes (``__u32 -> __u64`` counters)
    ``get``, ``insert``, ``m[k]`` and ``m[k] = v`` hand the ints to C as they are: one call
    into the native module, no key or value buffer (see ``bpf4py._native.map_scalar``).

    Example::

        counts: HashMap = ebpf.map("COUNTS")
        counts[6] = 0                 # int keys/values of 1, 2, 4 or 8 bytes
        print(dict(counts.items()))
        del counts[6]
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.HASH,)
    _SCALAR_OPS: ClassVar[bool] = True
    MIN_KERNEL: ClassVar[str] = "3.19"


class LruHashMap(HashMap):
    """A hash map that evicts the least recently used entry when full (Linux 4.10)."""

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.LRU_HASH,)
    MIN_KERNEL: ClassVar[str] = "4.10"


class PerCpuHashMap(HashMap):
    """A hash map with one value per possible CPU (Linux 4.6).

    ``m[k]`` returns a list with one value per possible CPU; ``m[k] = v`` stores ``v`` on every
    CPU, ``m[k] = [v0, v1, ...]`` one value each.  A bytes-like ``v`` (``bytes``,
    ``bytearray``, ``memoryview``, a ctypes object) is one value's bytes.
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.PERCPU_HASH,)
    MIN_KERNEL: ClassVar[str] = "4.6"
    PER_CPU: ClassVar[bool] = True


class LruPerCpuHashMap(PerCpuHashMap):
    """An LRU hash map with per-CPU values (Linux 4.10)."""

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.LRU_PERCPU_HASH,)
    MIN_KERNEL: ClassVar[str] = "4.10"
