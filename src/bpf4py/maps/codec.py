"""Key and value codecs: Python values <-> the bytes a map stores.

A codec is chosen per map for keys and for values:

* ``IntCodec`` -- an unsigned little-endian integer of the map's size (negative ints are
  stored as two's complement); the default for 1, 2, 4 and 8 byte keys/values.
* ``BytesCodec`` -- raw bytes of exactly the map's size; the default for other sizes.
* ``CTypesCodec`` -- a ``ctypes`` type (``ctypes.c_uint32``, a ``ctypes.Structure``).

Every codec accepts ``int``, ``bytes``-like objects and ctypes instances on encode, and checks
the size before any syscall.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from ..errors import InvalidKeySize, InvalidValueSize, MapError

_BYTEORDER: Any = sys.byteorder


class Codec:
    """Converts between Python values and map bytes of a fixed ``size``."""

    def __init__(self, size: int, role: str, map_what: str) -> None:
        self.size = size
        self.role = role  # "key" or "value"
        self.map_what = map_what

    def _size_error(self, given: int) -> MapError:
        cls = InvalidKeySize if self.role == "key" else InvalidValueSize
        return cls(
            f"{self.map_what}: {self.role} is {given} bytes, the map's {self.role} size is "
            f"{self.size} bytes"
        )

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, int) and not isinstance(obj, bool):
            return self._encode_int(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            data = bytes(obj)
        elif isinstance(obj, (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)):
            data = bytes(obj)
        else:
            raise TypeError(
                f"{self.map_what}: a {self.role} must be an int, bytes or a ctypes object, "
                f"got {type(obj).__name__}"
            )
        if len(data) != self.size:
            raise self._size_error(len(data))
        return data

    def _encode_int(self, value: int) -> bytes:
        try:
            return value.to_bytes(self.size, _BYTEORDER, signed=value < 0)
        except OverflowError:
            raise OverflowError(
                f"{self.map_what}: {self.role} {value} does not fit in {self.size} bytes"
            ) from None

    def decode(self, data: bytes) -> Any:
        return data


class IntCodec(Codec):
    def decode(self, data: bytes) -> int:
        return int.from_bytes(data, _BYTEORDER)


class BytesCodec(Codec):
    pass


class CTypesCodec(Codec):
    def __init__(self, ctype: type[Any], size: int, role: str, map_what: str) -> None:
        if ctypes.sizeof(ctype) != size:
            cls = InvalidKeySize if role == "key" else InvalidValueSize
            raise cls(f"{map_what}: {ctype.__name__} is {ctypes.sizeof(ctype)} bytes, the "
                      f"map's {role} size is {size} bytes")
        super().__init__(size, role, map_what)
        self.ctype = ctype

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, self.ctype):
            return bytes(obj)
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        value = self.ctype.from_buffer_copy(data)
        return value.value if isinstance(value, ctypes._SimpleCData) else value


def make_codec(kind: object, size: int, role: str, map_what: str) -> Codec:
    """A codec for ``kind``: None (by size), ``int``, ``bytes`` or a ctypes type."""
    if kind is None:
        kind = int if size in (1, 2, 4, 8) else bytes
    if kind is int:
        return IntCodec(size, role, map_what)
    if kind is bytes:
        return BytesCodec(size, role, map_what)
    if isinstance(kind, type) and issubclass(
        kind, (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)
    ):
        return CTypesCodec(kind, size, role, map_what)
    raise TypeError(f"{map_what}: {role} type must be int, bytes or a ctypes type, got {kind!r}")
