"""BTF (BPF Type Format): the C types of an eBPF object or of the kernel, and Python codecs
derived from them.

Maps loaded from an object compiled with ``-g`` already decode their keys and values through
their BTF types (see :mod:`bpf4py.maps.btf_codec`); this module is for looking types up and
building codecs yourself::

    from bpf4py.btf import Btf

    with Btf.from_file("events.bpf.o") as btf:
        event = btf.find("struct event")
        print(btf.describe(event), event.size, [m.name for m in event.members])
        codec = btf.codec_for(event)           # or btf.codec_for("struct event")
        print(codec.decode(raw_bytes)._asdict())

    with Btf.from_sys_fs() as kernel:          # /sys/kernel/btf/vmlinux
        print(kernel.find("struct task_struct").size)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ._closing import Closing
from ._native.btf_types import BtfHandle
from .errors import BtfError

if TYPE_CHECKING:
    from .loader import Ebpf
    from .maps.codec import Codec

__all__ = ["Btf", "BtfError", "BtfType", "Enumerator", "Kind", "Member", "Param", "VarSecinfo"]


class Kind(IntEnum):
    """BTF type kinds (``BTF_KIND_*``, linux/btf.h)."""

    VOID = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


#: Kinds that only qualify or rename another type.
MODIFIERS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})

#: ``BtfType.encoding`` bits of an ``INT``.
INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4


class Member(NamedTuple):
    """A struct or union member; ``bitfield_size`` is 0 for an ordinary member."""

    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int = 0


class Enumerator(NamedTuple):
    name: str
    value: int


class Param(NamedTuple):
    name: str
    type_id: int


class VarSecinfo(NamedTuple):
    """A variable of a ``DATASEC`` (a ``.data``/``.bss``/``.rodata`` section)."""

    type_id: int
    offset: int
    size: int


class BtfType:
    """One BTF type.  Which fields matter depends on ``kind``: ``size`` (INT, FLOAT, ENUM,
    ENUM64, STRUCT, UNION, DATASEC), ``type_id`` (the type referred to by PTR, TYPEDEF, CONST,
    VOLATILE, RESTRICT, TYPE_TAG, VAR, FUNC, DECL_TAG; an ARRAY's element type; a FUNC_PROTO's
    return type), ``encoding``/``bits``/``bit_offset`` (INT), ``nelems`` (ARRAY), ``members``
    (STRUCT, UNION), ``enumerators`` (ENUM, ENUM64), ``params`` (FUNC_PROTO), ``secinfos``
    (DATASEC).  ``btf`` is the :class:`Btf` it belongs to; a BtfType given to
    :meth:`~bpf4py.maps.base.Map.typed` decodes the map through it.

    Example::

        flow = btf.find("struct flow_key")
        offsets = {m.name: m.bit_offset // 8 for m in flow.members}
        pinned_map.typed(key=flow)

    Immutable; equality, hashing and ``repr`` use every field but ``btf``.
    """

    __slots__ = ("btf", "id", "kind", "name", "kflag", "size", "type_id", "encoding",
                 "bit_offset", "bits", "index_type_id", "nelems", "members", "enumerators",
                 "params", "linkage", "secinfos", "component_idx")
    _COMPARED: ClassVar[tuple[str, ...]] = __slots__[1:]

    btf: Btf
    id: int
    kind: Kind
    name: str
    kflag: bool
    size: int
    type_id: int
    encoding: int
    bit_offset: int
    bits: int
    index_type_id: int
    nelems: int
    members: tuple[Member, ...]
    enumerators: tuple[Enumerator, ...]
    params: tuple[Param, ...]
    linkage: int
    secinfos: tuple[VarSecinfo, ...]
    component_idx: int

    def __init__(self, btf: Btf, id: int, kind: Kind, name: str, kflag: bool = False,
                 size: int = 0, type_id: int = 0, encoding: int = 0, bit_offset: int = 0,
                 bits: int = 0, index_type_id: int = 0, nelems: int = 0,
                 members: tuple[Member, ...] = (), enumerators: tuple[Enumerator, ...] = (),
                 params: tuple[Param, ...] = (), linkage: int = 0,
                 secinfos: tuple[VarSecinfo, ...] = (), component_idx: int = -1) -> None:
        values = (btf, id, kind, name, kflag, size, type_id, encoding, bit_offset, bits,
                  index_type_id, nelems, members, enumerators, params, linkage, secinfos,
                  component_idx)
        for slot, value in zip(self.__slots__, values):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a BtfType is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a BtfType is immutable")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._COMPARED)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BtfType):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._COMPARED)
        return f"{type(self).__qualname__}({fields})"

    @property
    def signed(self) -> bool:
        """An INT with the signed encoding, or a signed ENUM/ENUM64."""
        if self.kind == Kind.INT:
            return bool(self.encoding & INT_SIGNED)
        return self.kflag and self.kind in (Kind.ENUM, Kind.ENUM64)


_VOID: dict[str, Any] = {"id": 0, "kind": 0, "name": "void"}
_KIND_PREFIXES = {"struct": (Kind.STRUCT,), "union": (Kind.UNION,),
                  "enum": (Kind.ENUM, Kind.ENUM64)}


class Btf(Closing):
    """A set of BTF types: an eBPF object's (compiled with ``-g``), the kernel's, or any BTF
    file.  Owns a libbpf ``struct btf``; close it (or use ``with``) when done -- codecs built
    from it keep working after it is closed.

    Minimum kernel version: none to read an object's or a file's BTF; 4.18 for the kernel's own
    (:meth:`from_sys_fs`), 5.4 for :meth:`from_id`.

    Example::

        with Btf.from_sys_fs() as kernel:
            iphdr = kernel.find("struct iphdr")
            assert iphdr.size == 20
            assert [m.name for m in iphdr.members][-2:] == ["check", ""]  # saddr/daddr union
    """

    def __init__(self, handle: BtfHandle) -> None:
        self._handle = handle
        self._types: dict[int, BtfType] = {}
        # Codec building blocks by type id, kept here by bpf4py.maps.btf_codec.
        self._layouts: dict[int, Any] = {}

    # --- constructors ---------------------------------------------------------------------

    @classmethod
    def from_sys_fs(cls, path: str | os.PathLike[str] | None = None) -> Btf:
        """The running kernel's BTF (``/sys/kernel/btf/vmlinux``, or ``path``)."""
        if path is None:
            return cls(BtfHandle.vmlinux())
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Btf:
        """The BTF of an ELF object (its ``.BTF`` section) or of a raw BTF file."""
        return cls(BtfHandle.from_file(os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: bytes, what: str = "BTF data") -> Btf:
        """Raw BTF, as in an object's ``.BTF`` section or :meth:`raw_data`."""
        return cls(BtfHandle.from_bytes(bytes(data), what))

    @classmethod
    def from_id(cls, btf_id: int) -> Btf:
        """A BTF object loaded in the kernel, by id (``MapInfo.btf_id``); needs
        CAP_SYS_ADMIN."""
        return cls(BtfHandle.from_kernel_id(btf_id))

    @classmethod
    def from_object(cls, ebpf: Ebpf) -> Btf:
        """A copy of a loaded object's BTF (it stays valid after the object is closed)."""
        obj = ebpf._check_open()
        data = obj.btf_data()
        if data is None:
            raise BtfError(f"eBPF object {obj.name!r} carries no BTF (compile it with -g)")
        return cls.from_bytes(data, f"BTF of {obj.name!r}")

    # --- lifetime -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def close(self) -> None:
        self._handle.close()


    def __repr__(self) -> str:
        if self.closed:
            return f"<Btf {self._handle.what} closed>"
        return f"<Btf {self._handle.what} types={len(self)}>"

    # --- types ----------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of types (ids ``1 .. len(btf)``; id 0 is ``void``)."""
        return self._handle.type_count() - 1

    def __iter__(self) -> Iterator[BtfType]:
        return (self.type(i) for i in range(1, len(self) + 1))

    def type(self, type_id: int | BtfType) -> BtfType:
        """The type with this id (0 is ``void``)."""
        if isinstance(type_id, BtfType):
            return type_id
        found = self._types.get(type_id)
        if found is None:
            rec = dict(_VOID) if type_id == 0 else self._handle.type_record(type_id)
            try:
                rec["kind"] = Kind(rec["kind"])
            except ValueError:
                raise BtfError(f"type {type_id} of {self._handle.what} is of an unknown kind "
                               f"({rec['kind']})") from None
            for key, row in (("members", Member), ("enumerators", Enumerator),
                             ("params", Param), ("secinfos", VarSecinfo)):
                if key in rec:
                    rec[key] = tuple(row(*r) for r in rec[key])
            found = self._types[type_id] = BtfType(self, **rec)
        return found

    def find(self, name: str, kind: Kind | None = None) -> BtfType:
        """The first type called ``name``; ``"struct foo"``, ``"union foo"`` and ``"enum foo"``
        look for that kind only, as does ``kind``.  Raises :class:`BtfError` when none is."""
        kinds: tuple[Kind | None, ...] = (kind,)
        prefix, _, rest = name.partition(" ")
        bare = name
        if rest and prefix in _KIND_PREFIXES and kind is None:
            kinds, bare = _KIND_PREFIXES[prefix], rest.strip()
        for k in kinds:
            type_id = self._handle.find(bare, None if k is None else int(k))
            if type_id > 0:
                return self.type(type_id)
        of_kind = f" of kind {kind.name}" if kind is not None else ""
        raise BtfError(f"{self._handle.what} has no type {name!r}{of_kind}")

    def resolve(self, type_id: int | BtfType) -> BtfType:
        """The type with typedefs, ``const``, ``volatile``, ``restrict`` and type tags
        stripped."""
        t = self.type(type_id)
        for _ in range(64):
            if t.kind not in MODIFIERS:
                return t
            t = self.type(t.type_id)
        raise BtfError(f"type {self.type(type_id).id} of {self._handle.what}: typedef chain "
                       "too long (a loop?)")

    def size_of(self, type_id: int | BtfType) -> int:
        """The size in bytes of a type (through typedefs and modifiers, arrays included)."""
        return self._handle.resolve_size(self.type(type_id).id)

    def describe(self, type_id: int | BtfType) -> str:
        """The type spelled roughly as in C: ``struct flow_key``, ``__u32``, ``char[16]``."""
        t = self.type(type_id)
        if t.kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            word = {Kind.FWD: "union" if t.kflag else "struct",
                    Kind.ENUM64: "enum"}.get(t.kind, t.kind.name.lower())
            return f"{word} {t.name or '(anon)'}"
        if t.kind == Kind.PTR:
            return f"{self.describe(t.type_id)} *"
        if t.kind == Kind.ARRAY:
            return f"{self.describe(t.type_id)}[{t.nelems}]"
        if t.kind in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT):
            return f"{t.kind.name.lower()} {self.describe(t.type_id)}"
        if t.kind == Kind.TYPE_TAG:
            return self.describe(t.type_id)
        return t.name or t.kind.name.lower()

    @property
    def pointer_size(self) -> int:
        return self._handle.pointer_size()

    @property
    def big_endian(self) -> bool:
        return self._handle.big_endian()

    def raw_data(self) -> bytes:
        """The BTF serialized (what :meth:`from_bytes` reads)."""
        return self._handle.raw_data()

    # --- codecs ---------------------------------------------------------------------------

    def codec_for(self, type_id: int | BtfType | str, role: str = "value") -> Codec:
        """A codec between the type's bytes and Python values: ints (``IntEnum`` members for
        named enums), floats, bytes (arrays of 1-byte integers; ``char`` arrays up to their
        first NUL), tuples (other arrays) and generated classes for structs and unions (see
        :mod:`bpf4py.maps.btf_codec`).  ``type_id`` may be a name for :meth:`find`."""
        from .maps.btf_codec import codec_for

        t = self.find(type_id) if isinstance(type_id, str) else self.type(type_id)
        return codec_for(self, t.id, self.size_of(t), role, self.describe(t))
