"""libbpf's ``struct btf``: opened from a file, raw bytes or the kernel, its types read out as
plain Python records for :mod:`bpf4py.btf` (the only other code that sees BTF).

A :class:`BtfHandle` owns its ``struct btf`` (``btf__free`` on :meth:`BtfHandle.close`, garbage
collection only as a safety net).  :meth:`BtfHandle.type_record` turns one type into a dict of
ints, strings and tuples: nothing it returns points into libbpf's memory.
"""

from __future__ import annotations

import errno as E
from typing import Any

from bpf4py.errors import BtfError, ClosedError

from ._lib import ffi, lib
from .check import c_str, error

_SIZED = {lib.BTF_KIND_INT, lib.BTF_KIND_STRUCT, lib.BTF_KIND_UNION, lib.BTF_KIND_ENUM,
          lib.BTF_KIND_ENUM64, lib.BTF_KIND_FLOAT, lib.BTF_KIND_DATASEC}
# Kinds whose btf_type.type names another type (FUNC_PROTO: the return type).
_REFERRING = {lib.BTF_KIND_PTR, lib.BTF_KIND_TYPEDEF, lib.BTF_KIND_VOLATILE, lib.BTF_KIND_CONST,
              lib.BTF_KIND_RESTRICT, lib.BTF_KIND_FUNC, lib.BTF_KIND_FUNC_PROTO, lib.BTF_KIND_VAR,
              lib.BTF_KIND_DECL_TAG, lib.BTF_KIND_TYPE_TAG}


def _opened(ptr: Any, doing: str) -> Any:
    if ptr == ffi.NULL:
        raise error(BtfError, doing, ffi.errno or E.EINVAL)
    return ptr


class BtfHandle:
    """Owns one ``struct btf``.  Example::

        handle = BtfHandle.from_file("prog.bpf.o")
        record = handle.type_record(handle.find("flow_key", None))
        handle.close()
    """

    def __init__(self, ptr: Any, what: str, *, owned: bool = True) -> None:
        self.what = what
        self._owned = owned
        self._ptr: Any = ffi.gc(ptr, lib.btf__free) if owned else ptr

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str) -> BtfHandle:
        """An ELF object's ``.BTF`` section, or a raw BTF file (``/sys/kernel/btf/*``)."""
        parsed = lib.btf__parse(c_str(path, "reading BTF"), ffi.NULL)
        return cls(_opened(parsed, f"reading BTF from {path}"),
                   f"BTF of {path}")

    @classmethod
    def from_bytes(cls, data: bytes, what: str) -> BtfHandle:
        """Raw BTF (a ``.BTF`` section's bytes)."""
        buf = ffi.from_buffer(data)
        return cls(_opened(lib.btf__new(buf, len(data)), f"parsing {what}"), what)

    @classmethod
    def vmlinux(cls) -> BtfHandle:
        """The running kernel's BTF (``/sys/kernel/btf/vmlinux`` or where libbpf finds it)."""
        return cls(_opened(lib.btf__load_vmlinux_btf(), "loading the kernel's BTF"),
                   "the kernel's BTF")

    @classmethod
    def from_kernel_id(cls, btf_id: int) -> BtfHandle:
        """A BTF object loaded in the kernel (a map's or program's), by its id."""
        what = f"BTF object {btf_id}"
        return cls(_opened(lib.btf__load_from_kernel_by_id(btf_id), f"loading {what}"), what)

    # --- lifetime -------------------------------------------------------------------------

    def _live(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise ClosedError(f"{self.what} is closed")
        return ptr

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None and self._owned:
            ffi.release(ptr)

    # --- reading --------------------------------------------------------------------------

    def type_count(self) -> int:
        """Number of type ids, counting ``void`` (id 0)."""
        return int(lib.btf__type_cnt(self._live()))

    def find(self, name: str, kind: int | None) -> int:
        """The id of the first type called ``name`` (of ``kind`` when given), or -1."""
        ptr = self._live()
        raw = name.encode()
        found = (lib.btf__find_by_name(ptr, raw) if kind is None
                 else lib.btf__find_by_name_kind(ptr, raw, kind))
        return int(found) if found > 0 else -1

    def resolve_size(self, type_id: int) -> int:
        size = lib.btf__resolve_size(self._live(), type_id)
        if size < 0:
            raise error(BtfError, f"sizing type {type_id} of {self.what}", -size)
        return int(size)

    def pointer_size(self) -> int:
        return int(lib.btf__pointer_size(self._live())) or 8

    def big_endian(self) -> bool:
        return bool(lib.btf__endianness(self._live()) == lib.BTF_BIG_ENDIAN)

    def raw_data(self) -> bytes:
        return serialize(self._live(), self.what)

    def type_record(self, type_id: int) -> dict[str, Any]:
        """Type ``type_id`` as a dict: ``id, kind, name, kflag`` and what its kind carries
        (``size`` or ``type_id``; ``encoding/bit_offset/bits`` of an int; ``type_id,
        index_type_id, nelems`` of an array; ``members`` as (name, type id, bit offset,
        bitfield size); ``enumerators`` as (name, value); ``params``; ``linkage``;
        ``secinfos`` as (type id, offset, size); ``component_idx``)."""
        ptr = self._live()
        count = lib.btf__type_cnt(ptr)
        if not 0 < type_id < count:
            raise BtfError(f"{self.what} has no type id {type_id} (ids are 1 to {count - 1})")
        t = lib.btf__type_by_id(ptr, type_id)
        info = t.info
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, bool(info >> 31)
        rec: dict[str, Any] = {"id": type_id, "kind": kind, "name": self._name(t.name_off),
                               "kflag": kflag}
        if kind in _SIZED:
            rec["size"] = t.size
        elif kind in _REFERRING:
            rec["type_id"] = t.type
        extra = t + 1
        if kind == lib.BTF_KIND_INT:
            word = ffi.cast("__u32 *", extra)[0]
            rec.update(encoding=(word >> 24) & 0x0F, bit_offset=(word >> 16) & 0xFF,
                       bits=word & 0xFF)
        elif kind == lib.BTF_KIND_ARRAY:
            arr = ffi.cast("struct btf_array *", extra)
            rec.update(type_id=arr.type, index_type_id=arr.index_type, nelems=arr.nelems)
        elif kind in (lib.BTF_KIND_STRUCT, lib.BTF_KIND_UNION):
            mem = ffi.cast("struct btf_member *", extra)
            rec["members"] = tuple(
                (self._name(m.name_off), m.type, m.offset & 0xFFFFFF if kflag else m.offset,
                 m.offset >> 24 if kflag else 0)
                for m in (mem[i] for i in range(vlen)))
        elif kind == lib.BTF_KIND_ENUM:
            en = ffi.cast("struct btf_enum *", extra)
            rec["enumerators"] = tuple(
                (self._name(en[i].name_off), en[i].val if kflag else en[i].val & 0xFFFFFFFF)
                for i in range(vlen))
        elif kind == lib.BTF_KIND_ENUM64:
            e64 = ffi.cast("struct btf_enum64 *", extra)
            rec["enumerators"] = tuple(
                (self._name(e64[i].name_off), _enum64(e64[i].val_lo32, e64[i].val_hi32, kflag))
                for i in range(vlen))
        elif kind == lib.BTF_KIND_FUNC_PROTO:
            par = ffi.cast("struct btf_param *", extra)
            rec["params"] = tuple((self._name(par[i].name_off), par[i].type)
                                  for i in range(vlen))
        elif kind == lib.BTF_KIND_VAR:
            rec["linkage"] = ffi.cast("struct btf_var *", extra).linkage
        elif kind == lib.BTF_KIND_FUNC:
            rec["linkage"] = vlen
        elif kind == lib.BTF_KIND_DATASEC:
            sec = ffi.cast("struct btf_var_secinfo *", extra)
            rec["secinfos"] = tuple((sec[i].type, sec[i].offset, sec[i].size)
                                    for i in range(vlen))
        elif kind == lib.BTF_KIND_DECL_TAG:
            rec["component_idx"] = ffi.cast("struct btf_decl_tag *", extra).component_idx
        return rec

    def _name(self, offset: int) -> str:
        ptr = lib.btf__name_by_offset(self._ptr, offset)
        return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def serialize(btf: Any, what: str) -> bytes:
    """The raw bytes of a ``struct btf *`` (header, types, strings): what btf__new reads."""
    size = ffi.new("__u32 *")
    data = lib.btf__raw_data(btf, size)
    if data == ffi.NULL:
        raise error(BtfError, f"serializing {what}", ffi.errno or E.ENOMEM)
    return bytes(ffi.buffer(data, size[0]))


def _enum64(lo: int, hi: int, signed: bool) -> int:
    value = lo | hi << 32
    return value - (1 << 64) if signed and value >> 63 else value
