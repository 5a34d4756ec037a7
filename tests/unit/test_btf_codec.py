"""BTF types -> Python codecs, checked against ctypes mirrors of the same C types (no kernel:
the BTF comes from tests/bpf/btf_types.bpf.c compiled with clang and parsed by libbpf)."""

from __future__ import annotations

import ctypes
import struct
import sys
from collections.abc import Iterator
from ctypes import (
    c_bool,
    c_char,
    c_int32,
    c_int64,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
)
from enum import IntEnum
from pathlib import Path

import numpy as np
import pytest

from bpf4py.btf import Btf, BtfError, BtfType, Kind
from bpf4py.clang import compile_program
from bpf4py.errors import ClosedError, InvalidKeySize, InvalidValueSize
from bpf4py.maps.btf_codec import (
    BtfCodec,
    BtfStruct,
    EnumCodec,
    EnumNode,
    IntNode,
    SignedIntCodec,
)
from bpf4py.maps.codec import IntCodec, NumpyCodec, StructFormatCodec, make_codec

BPF = Path(__file__).resolve().parents[1] / "bpf"


class Point(ctypes.Structure):
    _fields_ = [("x", c_int32), ("y", c_int32)]


class Flags(ctypes.Structure):
    _fields_ = [("kind", c_uint32, 3), ("delta", c_int32, 5), ("big", c_uint32, 20),
                ("shade", c_uint32, 4)]


class Payload(ctypes.Union):
    _fields_ = [("raw", c_uint64), ("pt", Point), ("tag", c_char * 8)]


class _AnonUnion(ctypes.Union):
    _fields_ = [("as_u32", c_uint32), ("as_bytes", c_uint8 * 4)]


class _AnonStruct(ctypes.Structure):
    _fields_ = [("lo", c_uint16), ("hi", c_uint16)]


class Record(ctypes.Structure):
    """struct record of btf_types.bpf.c, as ctypes lays it out."""

    _anonymous_ = ("u", "s")
    _fields_ = [("id", c_uint32), ("color", c_uint32), ("pts", Point * 3),
                ("ports", c_uint16 * 4), ("name", c_char * 16), ("mac", c_uint8 * 6),
                ("flags", Flags), ("payload", Payload), ("u", _AnonUnion), ("s", _AnonStruct),
                ("valid", c_bool), ("total", c_int64)]


@pytest.fixture(scope="module")
def btf() -> Iterator[Btf]:
    obj = compile_program(BPF / "btf_types.bpf.c", BPF / "build" / "btf_types.unit.bpf.o")
    with Btf.from_file(obj) as parsed:
        yield parsed


def codec(btf: Btf, name: str, role: str = "value") -> BtfCodec:
    c = btf.codec_for(btf.find(name), role)
    assert isinstance(c, BtfCodec)
    return c


def test_types_are_found_described_and_resolved(btf: Btf) -> None:
    record = btf.find("struct record")
    assert record.kind == Kind.STRUCT and record.size == ctypes.sizeof(Record) == 104
    assert [m.name for m in record.members][:3] == ["id", "color", "pts"]
    assert btf.describe(record.members[2].type_id) == "struct point[3]"
    assert btf.describe(btf.find("union payload")) == "union payload"
    u32 = btf.find("__u32")
    assert u32.kind == Kind.TYPEDEF and btf.resolve(u32).name == "unsigned int"
    assert btf.size_of(u32) == 4 and btf.type(u32.id) is u32
    color = btf.find("enum color")
    assert [(e.name, e.value) for e in color.enumerators] == [("RED", 1), ("GREEN", 2),
                                                             ("BLUE", 4)]
    assert btf.find("color", Kind.ENUM) == color and not color.signed
    assert btf.find(".bss").kind == Kind.DATASEC
    assert len(btf) == len(list(btf)) > 20
    with pytest.raises(BtfError, match="no type 'struct nope'"):
        btf.find("struct nope")
    with pytest.raises(BtfError, match="no type id 100000"):
        btf.type(100000)


def test_kinds_match_the_kernel_header() -> None:
    from bpf4py._libbpf import lib

    for kind in Kind:
        if kind != Kind.VOID:
            assert getattr(lib, f"BTF_KIND_{kind.name}") == kind.value


def test_struct_layout_matches_ctypes_both_ways(btf: Btf) -> None:
    c = codec(btf, "struct record")
    Cls = c.python_type
    assert issubclass(Cls, BtfStruct) and Cls.__name__ == "record"
    mirror = Record(id=42, color=4, ports=(10, 20, 30, 40), name=b"kernel",
                    mac=(c_uint8 * 6)(1, 2, 3, 4, 5, 6), valid=True, total=-123456789012)
    mirror.pts[1] = Point(2, -2)
    mirror.flags = Flags(kind=5, delta=-3, big=0xABCDE, shade=2)
    mirror.payload.pt = Point(7, -7)
    mirror.as_u32 = 0x01020304
    mirror.lo, mirror.hi = 0x1111, 0x2222
    v = c.decode(bytes(mirror))
    assert (v.id, v.color, v.pts[1], v.ports, v.name) == (42, 4, (2, -2), (10, 20, 30, 40),
                                                         b"kernel")
    assert v.mac == bytes([1, 2, 3, 4, 5, 6])
    assert v.flags == (5, -3, 0xABCDE, 2) and v.flags.delta == -3
    assert v.payload.pt == (7, -7)
    assert v.payload.raw == int.from_bytes(bytes(mirror.payload), sys.byteorder)
    assert (v.as_u32, v.as_bytes) == (0x01020304, bytes(mirror.u))
    assert (v.lo, v.hi, v.valid, v.total) == (0x1111, 0x2222, True, -123456789012)
    built = Cls(id=42, color="BLUE", pts=[{}, (2, -2)], ports=[10, 20, 30, 40], name="kernel",
                mac=bytes([1, 2, 3, 4, 5, 6]), flags={"kind": 5, "delta": -3, "big": 0xABCDE,
                                                      "shade": "GREEN"},
                payload={"pt": (7, -7)}, as_u32=0x01020304, lo=0x1111, hi=0x2222, valid=True,
                total=-123456789012)
    assert c.encode(built) == bytes(mirror)
    assert bytes(built) == bytes(mirror)
    assert c.encode(built._asdict()) == bytes(mirror)  # the dict form round-trips too


def test_bitfields_match_ctypes_including_sign_and_enum(btf: Btf) -> None:
    c = codec(btf, "struct flags")
    for kind, delta, big, shade in [(0, 0, 0, 1), (7, -16, 0xFFFFF, 4), (1, 15, 1, 2),
                                    (3, -1, 0x12345, 0)]:
        mirror = Flags(kind=kind, delta=delta, big=big, shade=shade)
        assert c.encode({"kind": kind, "delta": delta, "big": big, "shade": shade}) == \
            bytes(mirror)
        assert tuple(c.decode(bytes(mirror))) == (kind, delta, big, shade)
    assert type(c.decode(bytes(Flags(shade=4))).shade).__name__ == "color"
    with pytest.raises(OverflowError, match=r"value\.kind: 8 does not fit in a 3-bit bitfield"):
        c.encode({"kind": 8})
    with pytest.raises(OverflowError, match=r"-17 does not fit in a 5-bit bitfield \(-16 to 15\)"):
        c.encode({"delta": -17})


def test_enums_are_int_enums_and_unknown_values_stay_ints(btf: Btf) -> None:
    c = btf.codec_for(btf.find("enum color"))
    assert isinstance(c, EnumCodec) and issubclass(c.python_type, IntEnum)
    color = c.python_type
    assert c.decode((4).to_bytes(4, sys.byteorder)) is color.BLUE
    assert c.decode((9).to_bytes(4, sys.byteorder)) == 9
    assert c.encode("GREEN") == c.encode(2) == c.encode(color.GREEN)
    with pytest.raises(ValueError, match="enum color has no member 'PINK'.*RED, GREEN, BLUE"):
        c.encode("PINK")


def test_ints_reuse_int_codec_and_signed_ints_decode_negative(btf: Btf) -> None:
    assert type(btf.codec_for(btf.find("__u32"))) is IntCodec
    signed = btf.codec_for(btf.find("__s64"))
    assert isinstance(signed, SignedIntCodec)
    assert signed.decode(signed.encode(-5)) == -5
    with pytest.raises(InvalidValueSize, match="unsigned int is 4 bytes, the map's value size "
                                               "is 8"):
        make_codec(btf.find("__u32"), 8, "value", "map 'm'")


@pytest.mark.parametrize(("name", "bits"), [("char", 8), ("__s32", 32), ("int", 32),
                                            ("__s64", 64)])
def test_signed_ints_refuse_values_outside_their_range(btf: Btf, name: str, bits: int) -> None:
    c = btf.codec_for(btf.find(name), "key")
    assert isinstance(c, SignedIntCodec)
    size, lo, hi = bits // 8, -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    assert [c.decode(c.encode(v)) for v in (lo, -1, 0, hi)] == [lo, -1, 0, hi]
    assert c.encode(True) == c.encode(1) and c.encode(False) == bytes(size)  # bools are ints
    for wrong in (hi + 1, lo - 1, 1 << bits):  # hi + 1 used to wrap around to lo
        with pytest.raises(OverflowError, match=rf"^{name}: key {wrong} does not fit in a signed "
                                                rf"{size}-byte int \({lo} to {hi}\)$"):
            c.encode(wrong)


def test_signed_members_enums_wide_ints_and_dtypes_refuse_what_does_not_fit(btf: Btf) -> None:
    point = codec(btf, "struct point")
    assert point.decode(point.encode({"x": -(1 << 31), "y": True})) == (-(1 << 31), 1)
    with pytest.raises(OverflowError, match=r"value\.x: 2147483648 does not fit in int "
                                            r"\(-2147483648 to 2147483647\)"):
        point.encode({"x": 1 << 31})
    with pytest.raises(OverflowError, match=r"value\.y: -2147483649 does not fit in int"):
        point.encode((0, -(1 << 31) - 1))
    delta = IntEnum("delta", [("DOWN", -1), ("UP", 1)])  # a C enum with a negative member
    enum = EnumCodec(EnumNode(4, True, "enum delta", delta), "value", "map 'm'")
    assert enum.decode(enum.encode("DOWN")) is delta.DOWN and enum.decode(enum.encode(-7)) == -7
    with pytest.raises(OverflowError, match=r"map 'm': value 2147483648 does not fit in a "
                                            r"signed 4-byte int"):
        enum.encode(1 << 31)
    wide = BtfCodec(IntNode(16, True, "__int128"), "key", "map 'm'")  # odd-sized: BtfCodec
    assert wide.decode(wide.encode(-1)) == -1 and wide.decode(wide.encode(True)) == 1
    with pytest.raises(OverflowError, match=r"map 'm': key 170141183460469231731687303715884105728 "
                                            r"does not fit in a signed 16-byte int"):
        wide.encode(1 << 127)
    for dtype in (np.int16, np.dtype("<i2")):
        n = make_codec(dtype, 2, "value", "map 'm'")
        assert n.decode(n.encode(-32768)) == -32768
        with pytest.raises(OverflowError, match=r"^map 'm': value 32768 does not fit in a "
                                                r"signed 2-byte int \(-32768 to 32767\)$"):
            n.encode(32768)
    unsigned = make_codec(np.uint16, 2, "value", "map 'm'")
    assert unsigned.decode(unsigned.encode(32768)) == 32768


def test_strings_bytes_and_arrays(btf: Btf) -> None:
    c = codec(btf, "struct flow_stats")
    v = c.python_type(label="ab", ports=[7])
    assert v.label == b"ab" and v.ports == (7, 0)  # C strings up to the NUL, arrays zero-filled
    raw = c.encode(v)
    assert raw[28:34] == b"ab\0\0\0\0" and c.decode(raw) == v
    with pytest.raises(ValueError, match=r"value\.label: 7 bytes given, char\[6\] holds 6"):
        c.encode({"label": b"toolong"})
    with pytest.raises(ValueError, match=r"ports: 3 elements given, __u16\[2\] holds 2"):
        c.encode({"ports": [1, 2, 3]})
    with pytest.raises(OverflowError, match=r"ports\[1\]: 65536 does not fit in unsigned short"):
        c.encode({"ports": [1, 65536]})
    with pytest.raises(TypeError, match=r"value\.packets: .* takes an int, got str"):
        c.encode({"packets": "many"})
    with pytest.raises(TypeError, match=r"has no member 'pakets' \(members: packets, bytes"):
        c.encode({"pakets": 1})
    r = codec(btf, "struct record").python_type()
    assert r.mac == bytes(6) and r.name == b"" and r.pts[2] == (0, 0)


def test_unions_encode_from_the_largest_given_member(btf: Btf) -> None:
    c = codec(btf, "union payload")
    Payload_ = c.python_type
    assert Payload_._fields == ("raw", "pt", "tag")
    only_pt = Payload_(pt=(1, 2))
    assert only_pt.raw is None and c.encode(only_pt) == struct.pack("=ii", 1, 2)
    decoded = c.decode(struct.pack("=Q", 0x4142434445464748))
    assert decoded.raw == 0x4142434445464748 and decoded.tag == struct.pack("=Q", decoded.raw)
    changed = decoded._replace(pt={"x": 5})
    assert changed.raw is None and changed.tag is None  # _replace clears the other members
    assert c.decode(c.encode(changed)).pt == (5, 0)
    assert c.encode(decoded) == struct.pack("=Q", 0x4142434445464748)
    record = codec(btf, "struct record").python_type(as_bytes=b"\x01\x02")
    assert record.as_u32 is None and record.as_bytes == b"\x01\x02\0\0"
    assert record._replace(as_u32=7).as_bytes is None


def test_struct_values_behave_like_named_tuples(btf: Btf) -> None:
    Key = codec(btf, "struct record_key", "key").python_type
    k = Key(7, 80, proto=6)
    assert k == (7, 80, 6, 0) and {k: 1}[Key(tenant=7, port=80, proto=6)] == 1
    assert repr(k) == "record_key(tenant=7, port=80, proto=6, pad=0)"
    assert k._asdict() == {"tenant": 7, "port": 80, "proto": 6, "pad": 0}
    assert k._replace(port=443).port == 443 and k.port == 80
    assert len(bytes(k)) == 8
    with pytest.raises(TypeError, match="member 'tenant' given twice"):
        Key(1, tenant=2)
    with pytest.raises(TypeError, match="record_key takes at most 4 values"):
        Key(1, 2, 3, 4, 5)
    with pytest.raises(TypeError, match="record_key has no member 'nope'"):
        k._replace(nope=1)
    nested = codec(btf, "struct record").python_type(pts=[(1, 2)])._asdict()
    assert nested["pts"][0] == {"x": 1, "y": 2} and nested["flags"]["kind"] == 0


def test_raw_bytes_ctypes_and_generated_classes_are_accepted(btf: Btf) -> None:
    c = codec(btf, "struct record")
    mirror = Record(id=3)
    assert c.decode(c.encode(mirror)).id == 3
    assert c.encode(bytes(mirror)) == bytes(mirror)
    with pytest.raises(InvalidValueSize, match="value is 3 bytes, the map's value size is 104"):
        c.encode(b"abc")
    with pytest.raises(TypeError, match="struct record takes a mapping"):
        c.encode(3.5)
    again = make_codec(c.python_type, 104, "value", "map 'm'")  # typed(value=SomeStructClass)
    assert again.decode(bytes(mirror)) == c.decode(bytes(mirror))
    with pytest.raises(InvalidKeySize, match="struct record is 104 bytes, the map's key size"):
        make_codec(c.python_type, 8, "key", "map 'm'")


def test_data_sections_need_the_loaded_objects_btf(btf: Btf) -> None:
    # clang leaves sections unsized; libbpf sizes them when it opens the object (the kernel
    # test decodes .bss through Btf.from_object).
    with pytest.raises(BtfError, match=r"\.bss: the section is not laid out.*from_object"):
        btf.codec_for(btf.find(".bss"))


def test_numpy_dtypes_follow_the_memory_layout(btf: Btf) -> None:
    dtype, exact = codec(btf, "struct flow_stats").numpy_dtype(np)
    assert exact and dtype.itemsize == 40
    assert {name: dtype.fields[name][1] for name in dtype.names} == {
        "packets": 0, "bytes": 8, "delta": 16, "color": 20, "ports": 24, "label": 28}
    record, exact = codec(btf, "struct record").numpy_dtype(np)
    assert not exact and "flags" in record.names  # bitfields: decoded first, one field each
    assert record["flags"].names == ("kind", "delta", "big", "shade")


def test_struct_format_and_numpy_codecs() -> None:
    fmt = make_codec("=IH2x", 8, "value", "map 'm'")
    assert isinstance(fmt, StructFormatCodec)
    assert fmt.decode(fmt.encode((1, 2))) == (1, 2)
    one = make_codec("=d", 8, "value", "map 'm'")
    assert one.decode(one.encode(1.5)) == 1.5
    with pytest.raises(InvalidValueSize, match="struct format '=I' is 4 bytes"):
        make_codec("=I", 8, "value", "map 'm'")
    with pytest.raises(TypeError, match="does not match struct format"):
        fmt.encode((1,))
    dt = np.dtype([("a", "<u4"), ("b", "<i2"), ("pad", "V2")])
    nc = make_codec(dt, 8, "value", "map 'm'")
    assert isinstance(nc, NumpyCodec)
    v = nc.decode(nc.encode({"a": 7, "b": -1}))
    assert (v["a"], v["b"]) == (7, -1) and nc.encode(v) == nc.encode((7, -1, b"\0\0"))
    assert make_codec(np.uint16, 2, "key", "m").decode(b"\x01\x00") == 1


def test_numpy_codec_encodes_exactly_one_value() -> None:
    big = make_codec(np.dtype([("b", "u1", (64,))]), 64, "value", "map 'm'")
    for many in ([], [1, 2], np.zeros(2, dtype=big.dtype)):  # never more or fewer bytes
        with pytest.raises(InvalidValueSize, match="one .* is 64"):
            big.encode(many)
    key = make_codec(np.uint32, 4, "key", "map 'm'")
    with pytest.raises(InvalidKeySize, match="is 8 bytes, one uint32 is 4"):
        key.encode(np.array([1, 2], dtype=np.uint32))
    for lossy in (1.7, "12", [1, 2]):  # numpy would truncate, parse or take an array
        with pytest.raises(TypeError, match="is not an integer"):
            key.encode(lossy)
    assert key.encode(np.int64(7)) == key.encode(7) == (7).to_bytes(4, sys.byteorder)
    real = make_codec(np.float64, 8, "value", "map 'm'")
    assert real.decode(real.encode(2)) == 2.0
    with pytest.raises(InvalidValueSize):
        real.encode([1.0, 2.0])


def test_btf_round_trips_through_raw_bytes_and_closes(btf: Btf) -> None:
    copy = Btf.from_bytes(btf.raw_data())
    c = copy.codec_for("struct point")
    copy.close()
    copy.close()
    assert c.decode(struct.pack("=ii", 1, -1)) == (1, -1)  # codecs outlive their Btf
    with pytest.raises(ClosedError, match="closed"):
        copy.find("struct point")
    with pytest.raises(BtfError, match="parsing BTF data"):
        Btf.from_bytes(b"not btf")
    with pytest.raises(BtfError, match="reading BTF from /nonexistent"):
        Btf.from_file("/nonexistent")
    assert isinstance(btf.find("struct point"), BtfType)


class Cell(ctypes.Union):
    _fields_ = [("word", c_uint32), ("bytes", c_uint8 * 4)]


class _AB(ctypes.Structure):
    _fields_ = [("a", c_uint8), ("b", c_uint8)]


class _ABUnion(ctypes.Union):
    _anonymous_ = ("s",)
    _fields_ = [("s", _AB), ("ab", c_uint16)]


class Nested(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = [("u", _ABUnion), ("tail", c_uint8)]


class Exotic(ctypes.Structure):
    """struct exotic of btf_layouts.bpf.c (the 16-byte integer as bytes, 16-aligned)."""

    _fields_ = [("ratio", ctypes.c_double), ("scale", ctypes.c_float), ("flags", c_bool * 3),
                ("shades", c_uint32 * 2), ("grid", (ctypes.c_int16 * 3) * 2),
                ("cells", Cell * 2), ("ptr", ctypes.c_void_p), ("_pad", c_uint8 * 8),
                ("wide", c_uint8 * 16), ("nested", Nested), ("names", (c_char * 4) * 2),
                ("wrapped", c_uint32), ("_end", c_uint8 * 0)]


@pytest.fixture(scope="module")
def layouts() -> Iterator[Btf]:
    obj = compile_program(BPF / "btf_layouts.bpf.c", BPF / "build" / "btf_layouts.bpf.o")
    with Btf.from_file(obj) as parsed:
        yield parsed


def test_more_shapes_match_ctypes(layouts: Btf) -> None:
    c = codec(layouts, "struct exotic")
    assert c.size == ctypes.sizeof(Exotic) == 96
    wide = (1 << 100) + 5
    mirror = Exotic(ratio=0.5, scale=2.0, ptr=0xDEADBEEF)
    mirror.flags[:] = [True, False, True]
    mirror.shades[:] = [3, 1]
    mirror.grid[0][:] = [1, 2, 3]
    mirror.grid[1][:] = [-4, -5, -6]
    mirror.cells[0].word = 0x01020304
    mirror.cells[1].bytes[:] = [9, 0, 0, 0]
    mirror.wide[:] = list(wide.to_bytes(16, sys.byteorder))
    mirror.nested.a, mirror.nested.b, mirror.nested.tail = 1, 2, 3
    mirror.names[0].value, mirror.names[1].value = b"ab", b"cdef"
    mirror.wrapped = 9
    built = c.python_type(
        ratio=0.5, scale=2, flags=[True, False, True], shades=["DARK", 1],
        grid=[[1, 2, 3], [-4, -5, -6]], cells=[{"word": 0x01020304}, {"bytes": b"\x09"}],
        ptr=0xDEADBEEF, wide=wide, nested={"a": 1, "b": 2, "tail": 3}, names=["ab", b"cdef"],
        wrapped={"v": 9})
    assert c.encode(built) == bytes(mirror)
    v = c.decode(bytes(mirror))
    assert (v.ratio, v.scale, v.flags, v.ptr, v.wide) == (0.5, 2.0, (True, False, True),
                                                          0xDEADBEEF, wide)
    assert [s.name for s in v.shades] == ["DARK", "LIGHT"]
    assert v.grid == ((1, 2, 3), (-4, -5, -6)) and v.names == (b"ab", b"cdef")
    assert v.cells[0].bytes == (0x01020304).to_bytes(4, sys.byteorder) and v.cells[1].word == 9
    assert (v.nested.a, v.nested.b, v.nested.tail) == (1, 2, 3)
    assert v.nested.ab == int.from_bytes(b"\x01\x02", sys.byteorder)
    assert type(v.wrapped).__name__ == "wrapped_t" and v.rest == b""  # typedef names the class
    assert c.encode(v) == bytes(mirror)
    dtype, exact = c.numpy_dtype(np)
    assert not exact and dtype["wide"] == np.dtype("O")  # numpy has no 16-byte integers
