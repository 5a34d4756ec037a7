"""BloomFilter: a set that answers "maybe present" or "certainly absent"."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from .._native import bpf as _bpf
from ..types import MapType
from .base import Map, _size_and_type

T = TypeVar("T", bound="BloomFilter")


class BloomFilter(Map):
    """A bloom filter (``BPF_MAP_TYPE_BLOOM_FILTER``): values go in and never come out.

    :meth:`contains` (and ``in``) is False when the value was certainly never inserted, and
    True when it probably was (false positives get likelier as the filter fills).  BPF programs
    insert with ``bpf_map_push_elem`` and query with ``bpf_map_peek_elem`` (0: maybe present).
    Elements cannot be deleted or listed.

    Minimum kernel version: 5.16.

    Example::

        blocked: BloomFilter = ebpf.map("BLOCKED_PORTS")
        blocked.insert(23)
        assert 23 in blocked
        seen = BloomFilter.create(ctypes.c_uint32, 10_000, hash_functions=3)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.BLOOM_FILTER,)
    MIN_KERNEL: ClassVar[str] = "5.16"

    @classmethod
    def create(  # type: ignore[override]  # no key: bloom filters have key size 0
        cls: type[T],
        value: int | type[Any],
        max_entries: int,
        *,
        hash_functions: int = 0,
        name: str = "",
        flags: int = 0,
    ) -> T:
        """Create a standalone filter sized for ``max_entries`` values; ``value`` is a size in
        bytes or a ctypes type.  ``hash_functions`` (1 to 15; 0: the kernel's default, 5)
        trades lookup speed for fewer false positives."""
        if not 0 <= hash_functions <= 15:
            raise ValueError(f"creating bloom filter {name!r}: hash_functions must be 0 to 15, "
                             f"got {hash_functions}")
        value_size, value_type = _size_and_type(value, "value")
        map_type = cls.MAP_TYPES[0]
        fd = cls._create_fd(map_type, name, 0, value_size, max_entries, flags,
                            map_extra=hash_functions)
        return cls(fd, name or "(anonymous)", map_type, 0, value_size, max_entries, flags,
                   value_type=value_type)

    def insert(self, value: object, flags: int = 0) -> None:
        """Add ``value`` (``flags`` must be 0, ``BPF_ANY``, the only one the kernel takes)."""
        _bpf.map_update(self.fd, None, self._value.encode(value), flags, self.what)

    def contains(self, value: object) -> bool:
        """False when ``value`` was certainly never inserted; True when it probably was."""
        raw = bytearray(self._value.encode(value))
        return _bpf.map_lookup_keyless(self.fd, raw, 0, "querying", self.what)

    def __contains__(self, value: object) -> bool:
        return self.contains(value)
