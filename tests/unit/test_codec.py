"""Key/value codecs: int, bytes and ctypes, with sizes checked up front."""

from __future__ import annotations

import ctypes
import sys

import pytest

from bpf4py.errors import InvalidKeySize, InvalidValueSize
from bpf4py.maps.codec import BytesCodec, CTypesCodec, IntCodec, make_codec


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32)]


def test_default_codec_by_size() -> None:
    assert isinstance(make_codec(None, 4, "key", "m"), IntCodec)
    assert isinstance(make_codec(None, 8, "value", "m"), IntCodec)
    assert isinstance(make_codec(None, 16, "value", "m"), BytesCodec)
    assert isinstance(make_codec(Pair, 8, "value", "m"), CTypesCodec)
    with pytest.raises(TypeError, match="int, bytes or a ctypes type"):
        make_codec(str, 4, "key", "m")


def test_int_round_trip_and_negative() -> None:
    c = make_codec(int, 4, "key", "map 'm'")
    assert c.encode(1) == (1).to_bytes(4, sys.byteorder)
    assert c.decode(c.encode(0xDEADBEEF)) == 0xDEADBEEF
    assert c.decode(c.encode(-1)) == 0xFFFFFFFF
    with pytest.raises(OverflowError, match="map 'm': key 4294967296 does not fit in 4 bytes"):
        c.encode(1 << 32)
    assert c.encode(True) == c.encode(1)  # as in a dict, True is the key 1
    with pytest.raises(TypeError):
        c.encode(1.0)


def test_bytes_and_ctypes_inputs_are_size_checked() -> None:
    c = make_codec(None, 8, "value", "map 'm'")
    assert c.encode(b"12345678") == b"12345678"
    assert c.encode(bytearray(8)) == bytes(8)
    assert c.encode(memoryview(b"abcdefgh")) == b"abcdefgh"
    assert c.encode(Pair(1, 2)) == bytes(Pair(1, 2))
    assert c.encode(ctypes.c_uint64(5)) == bytes(ctypes.c_uint64(5))
    with pytest.raises(InvalidValueSize, match="value is 3 bytes, the map's value size is 8"):
        c.encode(b"abc")
    k = make_codec(None, 4, "key", "map 'm'")
    with pytest.raises(InvalidKeySize, match="key is 8 bytes"):
        k.encode(Pair(1, 2))


def test_ctypes_codec_decodes_structs_and_scalars() -> None:
    s = make_codec(Pair, 8, "value", "m")
    v = s.decode(bytes(Pair(3, 4)))
    assert (v.a, v.b) == (3, 4)
    u = make_codec(ctypes.c_uint16, 2, "key", "m")
    assert u.decode(u.encode(7)) == 7
    with pytest.raises(InvalidKeySize, match="is 2 bytes, the map's key size is 4 bytes"):
        make_codec(ctypes.c_uint16, 4, "key", "m")


@pytest.mark.parametrize("bits", [8, 16, 32, 64])
def test_signed_ctypes_ints_refuse_values_outside_their_range(bits: int) -> None:
    size, lo, hi = bits // 8, -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    c = make_codec(getattr(ctypes, f"c_int{bits}"), size, "key", "map 'm'")
    assert [c.decode(c.encode(v)) for v in (lo, -1, 0, hi)] == [lo, -1, 0, hi]
    assert c.encode(True) == c.encode(1) and c.encode(False) == bytes(size)
    for wrong in (hi + 1, lo - 1, 1 << bits):  # hi + 1 used to wrap around to lo
        with pytest.raises(OverflowError, match=rf"^map 'm': key {wrong} does not fit in a "
                                                rf"signed {size}-byte int \({lo} to {hi}\)$"):
            c.encode(wrong)
    unsigned = make_codec(getattr(ctypes, f"c_uint{bits}"), size, "key", "map 'm'")
    assert unsigned.decode(unsigned.encode(hi + 1)) == hi + 1  # unsigned ones are unchanged
    assert unsigned.decode(unsigned.encode(-1)) == (1 << bits) - 1
