"""The Map base class and the key/value protocol shared by hash maps and arrays."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .. import features
from .._closing import Closing
from .._native import bpf as _bpf
from .._native import map_scalar as _scalar
from .._native.fd import OwnedFd
from .._pinning import Pinnable
from ..btf import Btf, BtfError
from ..errors import IndexOutOfBounds, InvalidMapType, KeyNotFound, MapError
from ..info import MapInfo
from ..types import MapType
from . import batch, btf_codec, numpy_export
from .btf_pending import BtfSource, defer_btf
from .codec import Codec, IntCodec, make_codec

if TYPE_CHECKING:
    from .._native.object import BpfObject

log = logging.getLogger(__name__)

M = TypeVar("M", bound="Map")
_possible_cpus: int | None = None

#: Kernel map type -> the class the loader builds (filled by ``__init_subclass__``).
MAP_CLASSES: dict[int, type[Map]] = {}


def possible_cpus() -> int:
    """The number of possible CPUs: the length of every per-CPU value."""
    global _possible_cpus
    if _possible_cpus is None:
        _possible_cpus = _bpf.num_possible_cpus()
    return _possible_cpus


class Map(Closing, Pinnable):
    """A BPF map: a kernel object with a descriptor, a type and fixed key/value sizes.

    Maps come from an object (``ebpf.map("NAME")``), from a pin (``HashMap.from_pin(path)``),
    from an id (``from_id``) or are created standalone (``HashMap.create(...)``).  Every map is
    a context manager and ``close()`` is idempotent.

    Keys and values are ints or bytes by size, unless the map has BTF types (an object
    compiled with ``-g``, or a map opened by pin or id whose BTF the kernel holds): then they
    decode as those C types (structs as classes with attribute access, enums, arrays; see
    :mod:`bpf4py.maps.btf_codec`).  :meth:`typed` overrides either.
    """

    #: Map types this class accepts; the first is used by :meth:`create`.
    MAP_TYPES: ClassVar[tuple[MapType, ...]] = ()
    MIN_KERNEL: ClassVar[str] = ""
    #: Where the map's BTF types are (set by the loader and ``from_pin``/``from_id``).
    _btf_source: BtfSource | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for map_type in cls.__dict__.get("MAP_TYPES", ()):
            MAP_CLASSES.setdefault(map_type, cls)

    def __init__(
        self,
        fd: OwnedFd,
        name: str,
        map_type: int,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int = 0,
        *,
        key_type: object = None,
        value_type: object = None,
    ) -> None:
        self._fd = fd
        self.name = name
        self._what = f"map {name!r}"
        self.map_type: MapType | int = _as_map_type(map_type)
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        if self.MAP_TYPES and map_type not in self.MAP_TYPES:
            fd.close()
            kind = getattr(self.map_type, "name", map_type)
            allowed = ", ".join(t.name for t in self.MAP_TYPES)
            raise InvalidMapType(f"map {name!r} is of type {kind}; {type(self).__name__} "
                                 f"takes {allowed}")
        self._key: Codec = make_codec(key_type, key_size, "key", self.what)
        self._value: Codec = make_codec(value_type, value_size, "value", self.what)
        self._codecs_changed()

    @property
    def what(self) -> str:
        return self._what

    def __repr__(self) -> str:
        kind = getattr(self.map_type, "name", self.map_type)
        state = " closed" if self._fd.closed else ""
        return (f"<{type(self).__name__} {self.name!r} {kind} key={self.key_size}B "
                f"value={self.value_size}B max_entries={self.max_entries}{state}>")

    def typed(self: M, key: object = None, value: object = None) -> M:
        """Decode keys/values as ``int``, ``bytes``, a ctypes type, a :mod:`struct` format
        string, a numpy dtype, a :class:`~bpf4py.btf.BtfType` or the name of a type in the
        map's BTF (``"struct flow"``, ``"union u"``, ``"enum e"``); returns ``self``.  This
        overrides the types the map has from BTF.

        Example: ``stats = ebpf.map("STATS").typed(key=ctypes.c_uint32, value=Counters)``.
        """
        if key is not None:
            self._set_codec("key", make_codec(self._named_type(key), self.key_size, "key",
                                              self.what))
        if value is not None:
            self._set_codec("value", make_codec(self._named_type(value), self.value_size,
                                                "value", self.what))
        return self

    def _set_codec(self, role: str, codec: Codec) -> None:
        """Decode ``role`` ("key" or "value") with ``codec`` from now on."""
        setattr(self, f"_{role}", codec)
        self._codecs_changed()

    def _codecs_changed(self) -> None:
        """Called whenever the key or value codec changes (subclasses pick fast paths)."""

    def _named_type(self, kind: object) -> object:
        """``"struct NAME"``, ``"union NAME"`` or ``"enum NAME"``: that type of the map's BTF
        (its object's, or the kernel's copy for a map opened by pin or id); ``kind`` itself
        otherwise."""
        if not (isinstance(kind, str) and kind.partition(" ")[0] in ("struct", "union", "enum")):
            return kind
        if self._btf_source is None:
            raise MapError(f"{self.what}: no BTF to find {kind!r} in (compile the object with "
                           "-g, or pass a ctypes type)")
        return self._btf_source.btf().find(kind)

    @property
    def key_type(self) -> type:
        """What keys decode to: ``int``, ``bytes``, a ctypes type, or a class generated from
        the map's BTF (call it with keyword arguments to build a key)."""
        return self._key.python_type

    @property
    def value_type(self) -> type:
        """What values decode to (one per CPU for per-CPU maps); see :attr:`key_type`."""
        return self._value.python_type

    def _use_btf(self, btf: Btf, key_type_id: int, value_type_id: int,
                 defaults: Mapping[str, Codec] | None = None) -> None:
        """Decode through these BTF types where the codec is still the by-size default
        (a type the class or the caller chose stays).  A type with no Python form keeps the
        default, with a warning: the map works as without BTF.  ``defaults``: the by-size
        codecs of roles whose placeholder (:mod:`~bpf4py.maps.btf_pending`) is on the map."""
        for role, type_id in (("key", key_type_id), ("value", value_type_id)):
            current: Codec = (defaults or {}).get(role) or getattr(self, f"_{role}")
            if not type_id or not current.by_size:
                continue
            try:
                codec = btf_codec.codec_for(btf, type_id, current.size, role, self.what)
            except (BtfError, MapError) as exc:
                log.warning("%s: %ss stay %s: %s", self.what, role,
                            current.python_type.__name__, exc)
                continue
            self._set_codec(role, codec)

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def _from_fd(cls: type[M], fd: OwnedFd, name: str | None = None, **types: object) -> M:
        try:
            info = MapInfo.from_fd(fd.fd, fd.what)
        except Exception:
            fd.close()
            raise
        return cls._from_info(fd, info, name, **types)

    @classmethod
    def _from_info(cls: type[M], fd: OwnedFd, info: MapInfo, name: str | None = None,
                   **types: object) -> M:
        """A Map of this class over ``fd`` (owned from now on), described by ``info``."""
        name = name or info.name
        fd.what = f"map {name!r}"
        m = cls(fd, name, info.map_type, info.key_size, info.value_size, info.max_entries,
                info.flags, **types)
        if info.btf_id:  # read from the kernel on first use (needs CAP_SYS_ADMIN)
            defer_btf(m, BtfSource.from_id(info.btf_id), info.btf_key_type_id,
                      info.btf_value_type_id)
        return m

    @classmethod
    def from_pin(cls: type[M], path: str | os.PathLike[str], **types: object) -> M:
        """Open a map pinned at ``path`` (by this or another process)."""
        path = os.fspath(path)
        return cls._from_fd(_bpf.obj_get(path, "map"), None, **types)

    @classmethod
    def from_id(cls: type[M], map_id: int, **types: object) -> M:
        """Open a loaded map by its kernel id."""
        return cls._from_fd(_bpf.fd_by_id("map", map_id), None, **types)

    @classmethod
    def create(
        cls: type[M],
        key: int | type[Any],
        value: int | type[Any],
        max_entries: int,
        *,
        name: str = "",
        flags: int = 0,
    ) -> M:
        """Create a standalone map of this class's type.

        ``key``/``value`` are sizes in bytes or ctypes types.  Example::

            counts = HashMap.create(ctypes.c_uint32, ctypes.c_uint64, 1024, name="counts")
        """
        if not cls.MAP_TYPES:
            raise TypeError(f"{cls.__name__} cannot create maps")
        key_size, key_type = _size_and_type(key)
        value_size, value_type = _size_and_type(value, "value")
        map_type = cls.MAP_TYPES[0]
        fd = cls._create_fd(map_type, name, key_size, value_size, max_entries, flags)
        return cls(fd, name or "(anonymous)", map_type, key_size, value_size, max_entries, flags,
                   key_type=key_type, value_type=value_type)

    @classmethod
    def _create_fd(
        cls,
        map_type: MapType,
        name: str,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int,
        inner_map_fd: int = 0,
        map_extra: int = 0,
    ) -> OwnedFd:
        """``BPF_MAP_CREATE`` for :meth:`create`: a map type the running kernel does not have
        raises FeatureNotSupported naming :attr:`MIN_KERNEL`."""
        try:
            return _bpf.map_create(map_type, name, key_size, value_size, max_entries, flags,
                                   inner_map_fd, map_extra)
        except MapError as exc:
            features.raise_if_unsupported("map", map_type, f"creating {cls.__name__} "
                                          f"{name or '(anonymous)'!r}", exc, cls.MIN_KERNEL)
            raise

    # --- descriptor and lifetime -------------------------------------------------------------

    @property
    def fd(self) -> int:
        return self._fd.fd

    def fileno(self) -> int:
        return self._fd.fd

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def close(self) -> None:
        self._fd.close()

    def _take_from_object(self, obj: BpfObject, name: str) -> None:
        """Take what this map needs of the libbpf object that created it: its pin path."""
        self._pin_path = obj.map_pin_path(name)


    def info(self) -> MapInfo:
        """Metadata from the kernel (Linux 4.13)."""
        return MapInfo.from_fd(self.fd, self.what)


    def freeze(self) -> None:
        """Make the map read-only for user space (Linux 5.2)."""
        _bpf.map_freeze(self.fd, self.what)


_scalar_lookup, _scalar_update, _scalar_failed = _scalar.lookup, _scalar.update, _scalar.failed


def _as_map_type(value: int) -> MapType | int:
    try:
        return MapType(value)
    except ValueError:
        return value


def _size_and_type(spec: int | type[Any], role: str = "key") -> tuple[int, object]:
    """``(size, ctypes type or None)`` of a ``create()`` key or value given as either."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec, None  # the range is checked with the other numbers in map_create
    import ctypes

    if isinstance(spec, type):
        with contextlib.suppress(TypeError):  # a class that is no ctypes type
            return ctypes.sizeof(spec), spec
    raise TypeError(f"creating a map: the {role} must be a size in bytes or a ctypes type, got "
                    f"{spec!r}")


class KeyValueMap(Map):
    """Lookup, update, delete and iteration, with the dict protocol on top.

    ``m[k]`` is :meth:`get` (raises :class:`KeyNotFound`, a ``KeyError``), ``m[k] = v`` is
    :meth:`insert`, ``del m[k]`` is :meth:`remove`; ``len(m)``, ``k in m`` and iteration over
    keys work as on a dict.  :meth:`items`, :meth:`keys`, :meth:`values`, :meth:`update`,
    :meth:`clear` and :meth:`pop_items` move many entries per syscall where the kernel has
    batch operations for the map type (see :mod:`bpf4py.maps.batch`).  ``dict(m)`` reads the
    keys in batches and then each value on its own, as ``dict()`` does with any mapping;
    ``dict(m.items())`` reads both in batches, about five times faster.
    """

    PER_CPU: ClassVar[bool] = False
    #: Whether ``m[k]`` / ``m[k] = v`` may pass unsigned int keys and values to C as ints
    #: (see _native/map_scalar); a subclass that overrides get or insert never does.
    _SCALAR_OPS: ClassVar[bool] = False
    #: The scalar path's ``shape`` for this map's key and value, or 0 when it has none.
    _scalar_shape: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.PER_CPU:
            self._stride = (self.value_size + 7) & ~7
            self._ncpus = possible_cpus()
            self._buf_size = self._stride * self._ncpus
        else:
            self._buf_size = self.value_size

    def _codecs_changed(self) -> None:
        self._scalar_shape = 0
        cls = type(self)
        plain = cls.get is KeyValueMap.get and cls.insert is KeyValueMap.insert
        if self._SCALAR_OPS and plain and not self.PER_CPU and type(self._key) is IntCodec and \
                type(self._value) is IntCodec and self.key_size in _scalar.SIZES and \
                self.value_size in _scalar.SIZES:
            self._scalar_shape = _scalar.shape(self.key_size, self.value_size)

    # --- value encoding (per-CPU aware) -------------------------------------------------------

    def _encode_value(self, value: object) -> bytes:
        if not self.PER_CPU:
            return self._value.encode(value)
        one = self._value.python_type  # a struct, array or bytes-like value is one value
        if isinstance(value, Sequence) and \
                not isinstance(value, (bytes, bytearray, memoryview, str)) and \
                (one is object or not isinstance(value, one)):
            if len(value) != self._ncpus:
                raise MapError(f"{self.what}: a per-CPU value needs {self._ncpus} entries "
                               f"(one per possible CPU), got {len(value)}")
            values = list(value)
        else:
            values = [value] * self._ncpus
        pad = bytes(self._stride - self.value_size)
        return b"".join(self._value.encode(v) + pad for v in values)

    def _decode_value(self, data: bytes) -> Any:
        if not self.PER_CPU:
            return self._value.decode(data)
        s, n = self._stride, self.value_size
        return [self._value.decode(data[i * s:i * s + n]) for i in range(self._ncpus)]

    def _encode_key(self, key: object) -> bytes:
        return self._key.encode(key)

    # --- operations ------------------------------------------------------------------------

    def get(self, key: object, flags: int = 0) -> Any:
        """The value stored at ``key``; raises :class:`KeyNotFound` when there is none."""
        if self._scalar_shape and not flags:
            return KeyValueMap.__getitem__(self, key)
        return self._lookup(key, flags)

    def _lookup(self, key: object, flags: int) -> Any:
        raw = _bpf.map_lookup(self._fd.fd, self._encode_key(key), self._buf_size, flags,
                              self._what)
        if raw is None:
            raise KeyNotFound(f"{self.what} has no key {key!r}", errno=2)
        return self._decode_value(raw)

    def insert(self, key: object, value: object, flags: int = 0) -> None:
        """Store ``value`` at ``key``.  ``flags``: 0 (BPF_ANY), 1 (BPF_NOEXIST: only if absent),
        2 (BPF_EXIST: only if present), 4 (BPF_F_LOCK)."""
        if self._scalar_shape and not flags:
            KeyValueMap.__setitem__(self, key, value)
        else:
            self._update(key, value, flags)

    def _update(self, key: object, value: object, flags: int) -> None:
        _bpf.map_update(self._fd.fd, self._encode_key(key), self._encode_value(value), flags,
                        self._what)

    def remove(self, key: object) -> None:
        """Delete ``key``; raises :class:`KeyNotFound` when it is absent."""
        if not _bpf.map_delete(self.fd, self._encode_key(key), self.what):
            raise KeyNotFound(f"{self.what} has no key {key!r}", errno=2)

    def _raw_keys(self) -> Iterator[bytes]:
        fd, size = self.fd, self.key_size
        key = _bpf.map_next_key(fd, None, size, self.what)
        while key is not None:
            yield key
            key = _bpf.map_next_key(fd, key, size, self.what)

    def _raw_items(self, values: bool = True) -> Iterator[tuple[bytes, bytes]]:
        """Every entry as ``(key, value)`` bytes: in batches where the kernel can (Linux 5.6),
        else key by key (keys deleted meanwhile are skipped).  Without ``values`` the per-key
        path reads keys only and gives ``b""`` values (some maps iterate but refuse lookups)."""
        try:
            yield from batch.lookup(self)
        except batch.Unsupported:
            for raw in self._raw_keys():
                if not values:
                    yield raw, b""
                    continue
                value = _bpf.map_lookup(self.fd, raw, self._buf_size, 0, self.what)
                if value is not None:
                    yield raw, value

    def keys(self) -> Iterator[Any]:
        """Iterate over the keys (in the kernel's order)."""
        decode = self._key.decode
        return (decode(k) for k, _ in self._raw_items(values=False))

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Iterate over ``(key, value)`` pairs, read many per syscall where the kernel can."""
        key_format = self._key.array_format()
        value_format = self._value.array_format()
        if key_format and value_format and self._plain_values():
            return self._cast_items(key_format, value_format)
        return self._decoded_items()

    def _plain_values(self) -> bool:
        """Whether values are exactly what the value codec decodes (no per-CPU split, no
        subclass reinterpreting them), so a whole batch can be cast at once."""
        return not self.PER_CPU and type(self)._decode_value is KeyValueMap._decode_value

    def _cast_items(self, key_format: Any, value_format: Any) -> Iterator[tuple[Any, Any]]:
        """items() of int keys and values: each batch decoded by two ``memoryview`` casts and
        zipped in C, with no Python frame per entry."""
        return itertools.chain.from_iterable(self._cast_batches(key_format, value_format))

    def _cast_batches(self, key_format: Any, value_format: Any) -> Iterator[Iterable[Any]]:
        if type(self)._raw_items is KeyValueMap._raw_items:
            key_size, value_size = self.key_size, self.value_size
            try:
                for keys, values, n in batch.lookup_chunks(self):
                    yield zip(memoryview(keys)[:n * key_size].cast(key_format).tolist(),
                              memoryview(values)[:n * value_size].cast(value_format).tolist())
                return
            except batch.Unsupported:
                pass
        yield self._decoded_items()

    def _decoded_items(self) -> Iterator[tuple[Any, Any]]:
        decode_key, decode_value = self._key.decode, self._decode_value
        return ((decode_key(k), decode_value(v)) for k, v in self._raw_items())

    def values(self) -> Iterator[Any]:
        return (v for _, v in self.items())

    def update(self, entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> None:
        """Store every ``key: value`` of a mapping (or ``(key, value)`` pairs), with one syscall
        where the kernel can (Linux 5.6), else one per key.

        Every key and value is encoded (and size-checked) before the first syscall.  Example::

            counts.update({1: 10, 2: 20})
            other.update(counts.items())
        """
        pairs = list(entries.items() if isinstance(entries, Mapping) else entries)
        if not pairs:
            return
        keys = b"".join(self._encode_key(k) for k, _ in pairs)
        values = b"".join(self._encode_value(v) for _, v in pairs)
        try:
            batch.update(self, keys, values, len(pairs))
        except batch.Unsupported:
            for key, value in pairs:
                self.insert(key, value)

    def pop_items(self) -> list[tuple[Any, Any]]:
        """Remove every entry and return them as ``(key, value)`` pairs: atomically per entry
        with batched lookup-and-delete where the kernel can (Linux 5.6, hash maps), else
        with :meth:`get` then :meth:`remove` per key.  Arrays raise like :meth:`remove`."""
        decode_key, decode_value = self._key.decode, self._decode_value
        try:
            return [(decode_key(k), decode_value(v)) for k, v in batch.lookup(self, delete=True)]
        except batch.Unsupported:
            popped: list[tuple[Any, Any]] = []
            for key in list(self.keys()):
                try:
                    value = self.get(key)
                    self.remove(key)
                except KeyNotFound:
                    continue
                popped.append((key, value))
            return popped

    def clear(self) -> None:
        """Remove every entry: batched lookup-and-delete where the kernel can (Linux 5.6, hash
        maps), else :meth:`remove` per key.  Arrays raise like :meth:`remove`."""
        try:
            for _ in batch.lookup(self, delete=True):
                pass
        except batch.Unsupported:
            for key in list(self.keys()):
                try:
                    self.remove(key)
                except KeyNotFound:
                    pass

    def to_numpy(self, *, structured: bool = False) -> Any:
        """Every entry as numpy arrays ``(keys, values)`` -- or, with ``structured``, one
        array with fields ``key`` and ``value`` -- read in batches like :meth:`items`.

        Dtypes come from the codecs: structured dtypes for BTF structs (the exact memory
        layout, so the bytes are used as they are; types numpy cannot lay out, like
        bitfields, are decoded first), ints, ``S``/``V`` for byte arrays, the ctypes or numpy
        type given to :meth:`typed`, ``object`` otherwise.  Per-CPU values have one column
        per possible CPU.  Needs numpy.  Example::

            keys, values = flows.to_numpy()
            busiest = keys[values["packets"].argmax()]
        """
        return numpy_export.to_numpy(self, structured)

    def to_pandas(self) -> Any:
        """Every entry as a pandas DataFrame: keys as the index (struct members as index
        levels), one column per value member (``inner.x`` for nested members, ``arr[2]`` for
        array elements; per-CPU maps get a ``cpu`` index level).  Needs pandas.  Example::

            df = flows.to_pandas()
            df.sort_values("bytes", ascending=False).head(10)
        """
        return numpy_export.to_pandas(self)

    # m[k] and m[k] = v are get() and insert().  With the scalar path (classes that have it do
    # not override get/insert) they make the native call themselves: one Python frame per
    # operation.  Whatever that call cannot do, the generic path does again and raises.

    def __getitem__(self, key: object) -> Any:
        shape = self._scalar_shape
        if not shape:
            return self.get(key)
        try:
            value = _scalar_lookup(self._fd._fd, key, shape)
        except (TypeError, OverflowError):  # not an int, or negative / wider than 64 bits
            pass
        else:
            if value or not _scalar_failed():
                return value
        return self._lookup(key, 0)

    def __setitem__(self, key: object, value: object) -> None:
        shape = self._scalar_shape
        if not shape:
            self.insert(key, value)
            return
        try:
            if not _scalar_update(self._fd._fd, key, value, shape):
                return
        except (TypeError, OverflowError):
            pass
        self._update(key, value, 0)

    def __delitem__(self, key: object) -> None:
        self.remove(key)

    def __contains__(self, key: object) -> bool:
        raw = _bpf.map_lookup(self.fd, self._encode_key(key), self._buf_size, 0, self.what)
        return raw is not None

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    def __len__(self) -> int:
        return sum(1 for _ in self._raw_keys())


class ArrayMap(KeyValueMap):
    """Arrays: u32 indices ``0 .. max_entries-1``, every index always present."""

    def _encode_key(self, key: object) -> bytes:
        if isinstance(key, int):
            if not 0 <= key < self.max_entries:
                raise IndexOutOfBounds(
                    f"{self.what}: index {key} is out of bounds (max_entries "
                    f"{self.max_entries})"
                )
        return self._key.encode(key)

    def set(self, index: int, value: object, flags: int = 0) -> None:
        """Store ``value`` at ``index``."""
        self.insert(index, value, flags)

    def remove(self, key: object) -> None:
        raise MapError(f"{self.what}: array elements cannot be deleted, only overwritten")

    # Every index exists while the map does: these ask the kernel nothing, but a closed map
    # still raises ClosedError (self.fd) as every other operation does.

    def keys(self) -> Iterator[int]:
        self.fd  # noqa: B018
        return iter(range(self.max_entries))

    def _raw_keys(self) -> Iterator[bytes]:
        self.fd  # noqa: B018
        return (self._key.encode(i) for i in range(self.max_entries))

    def __len__(self) -> int:
        self.fd  # noqa: B018
        return self.max_entries

    def __contains__(self, key: object) -> bool:
        self.fd  # noqa: B018
        return isinstance(key, int) and 0 <= key < self.max_entries
