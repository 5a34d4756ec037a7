"""Maps of maps: ArrayOfMaps and HashOfMaps, whose values are other maps."""

from __future__ import annotations

import contextlib
import errno
import sys
from typing import TYPE_CHECKING, Any, ClassVar

from .._native import bpf as _bpf
from .._native.fd import raw_fd
from ..errors import KeyNotFound, MapError
from ..info import MapInfo
from ..types import MapType
from . import load_all as load_map_families
from .base import MAP_CLASSES, KeyValueMap, Map, _size_and_type
from .object_array import ObjectArray

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike
    from typing_extensions import Self


class _MapsOfMaps(KeyValueMap):
    """Values go in as maps (a Map or a map descriptor) and come out as Map objects."""

    def _encode_value(self, value: object) -> bytes:
        return self._value.encode(raw_fd(value, f"storing an inner map in {self.what}"))

    def _decode_value(self, data: bytes) -> Map:
        # The kernel reports the inner map's id; open it as the class of its type.
        fd = _bpf.fd_by_id("map", int.from_bytes(data[:4], sys.byteorder))
        try:
            info = MapInfo.from_fd(fd.fd, f"an inner map of {self.what}")
        except BaseException:
            fd.close()
            raise
        load_map_families()  # every map class registered, not only those imported so far
        return MAP_CLASSES.get(info.map_type, Map)._from_info(fd, info)

    def _update(self, key: object, value: object, flags: int) -> None:
        try:
            super()._update(key, value, flags)
        except MapError as exc:
            if exc.errno == errno.EINVAL and not exc.hint:
                exc.hint = ("the inner map must be like the one the outer map was made with: "
                            "same type, key and value sizes, flags and max_entries (unless "
                            "BPF_F_INNER_MAP)")
            raise

    def pop_items(self) -> list[tuple[Any, Map]]:
        """Remove every entry and return ``(key, inner map)`` pairs.  Each inner map is opened
        before its entry is removed, so one that nothing else holds lives on in the Map
        returned (a batched lookup-and-delete would free it first).  Not atomic: an entry
        stored meanwhile may stay."""
        popped = list(self.items())
        try:
            for key, _ in popped:
                with contextlib.suppress(KeyNotFound):  # removed meanwhile: still popped here
                    self.remove(key)
        except BaseException:
            for _, inner in popped:
                inner.close()
            raise
        return popped

    def get(self, key: object, flags: int = 0) -> Map:
        """The inner map at ``key``, opened as the class of its type (a new descriptor: close
        it when done).  Raises :class:`~bpf4py.errors.KeyNotFound` when there is none."""
        inner: Map = super().get(key, flags)
        return inner

    @classmethod
    def create(  # type: ignore[override]
        cls,
        key: int | type[Any],
        max_entries: int,
        *,
        inner_map: FileDescriptorLike,
        name: str = "",
        flags: int = 0,
    ) -> Self:
        """Create a standalone map of maps whose inner maps look like ``inner_map`` (same
        type, key and value sizes, max_entries; a Map or a map descriptor).  Example::

            template = HashMap.create(4, 8, 16)
            outer = HashOfMaps.create(ctypes.c_uint32, 8, inner_map=template)
        """
        key_size, key_type = _size_and_type(key)
        map_type = cls.MAP_TYPES[0]
        inner_fd = raw_fd(inner_map, f"creating map {name!r} of type {map_type.name}")
        fd = cls._create_fd(map_type, name, key_size, 4, max_entries, flags, inner_fd)
        return cls(fd, name or "(anonymous)", map_type, key_size, 4, max_entries, flags,
                   key_type=key_type)


class ArrayOfMaps(_MapsOfMaps, ObjectArray):
    """An array of maps (``BPF_MAP_TYPE_ARRAY_OF_MAPS``), indexed ``0 .. max_entries-1``: a
    BPF program calls ``bpf_map_lookup_elem(&outer, &index)`` to get the inner map and then
    uses it like any map.  Every inner map has the type, key/value sizes (and max_entries,
    unless the outer map has ``BPF_F_INNER_MAP``) of the map it was created with.

    :meth:`set` takes a Map or a map descriptor; :meth:`get` and :meth:`items` open each inner
    map as a new Map object of the class of its type (a :class:`~bpf4py.maps.HashMap`, ...),
    which you close when done.  :meth:`indices` lists the indices holding a map.

    Minimum kernel version: 4.12.

    Example::

        from bpf4py.maps import Array
        from bpf4py.maps.of_maps import ArrayOfMaps

        tenants = ebpf.map("TENANTS", ArrayOfMaps)
        quota = Array.create(4, 8, 16, name="quota_1")
        tenants.set(1, quota)
        with tenants.get(1) as inner:      # an Array, the same kernel map as quota
            inner.set(0, 1000)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.ARRAY_OF_MAPS,)
    MIN_KERNEL: ClassVar[str] = "4.12"
    ENTRY: ClassVar[str] = "map"


class HashOfMaps(_MapsOfMaps):
    """A hash of maps (``BPF_MAP_TYPE_HASH_OF_MAPS``) with keys of any fixed size, and the
    dict protocol: ``h[key] = inner_map``, ``h[key]`` (the inner map as a new Map object:
    close it when done), ``del h[key]``, ``key in h``, iteration over keys.  See
    :class:`ArrayOfMaps`.

    Minimum kernel version: 4.12.

    Example::

        from bpf4py.maps import HashMap
        from bpf4py.maps.of_maps import HashOfMaps

        per_user = ebpf.map("PER_USER", HashOfMaps)
        per_user.insert(1000, HashMap.create(4, 8, 64))
        with per_user[1000] as counts:
            print(dict(counts.items()))
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.HASH_OF_MAPS,)
    MIN_KERNEL: ClassVar[str] = "4.12"
