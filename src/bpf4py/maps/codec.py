"""Key and value codecs: Python values <-> the bytes a map stores.

A codec is chosen per map for keys and for values:

* ``IntCodec`` -- an unsigned little-endian integer of the map's size (negative ints are
  stored as two's complement); the default for 1, 2, 4 and 8 byte keys/values.  Signed
  types (``__s32`` from BTF, ``ctypes.c_int32``, ``np.int32``) take only their own range.
* ``BytesCodec`` -- raw bytes of exactly the map's size; the default for other sizes.
* ``CTypesCodec`` -- a ``ctypes`` type (``ctypes.c_uint32``, a ``ctypes.Structure``).
* ``StructFormatCodec`` -- a :mod:`struct` format string (``"<IHH"``): tuples (or the one
  value of a one-field format).
* ``NumpyCodec`` -- a numpy dtype (``np.dtype([("pid", "u4"), ("len", "u4")])``, ``np.uint32``).
* BTF codecs (:mod:`bpf4py.maps.btf_codec`) -- from the object's BTF; the default for maps of
  objects compiled with ``-g``, or given as a :class:`~bpf4py.btf.BtfType`.

Every codec accepts ``int``, ``bytes``-like objects and ctypes instances on encode, and checks
the size (an int that does not fit raises OverflowError) before any syscall.  ``python_type``
is the type values decode to.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidKeySize, InvalidValueSize, MapError

_BYTEORDER: Any = sys.byteorder
_CAST_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}
_CTYPES = (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)
#: ``_type_`` of the signed ctypes ints (c_byte, c_short, c_int, c_long, c_longlong); that of
#: arrays and pointers is a type, structs and unions have none.
_SIGNED_CTYPE_CODES = ("b", "h", "i", "l", "q")


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest value of a ``bits``-bit int."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


class Codec:
    """Converts between Python values and map bytes of a fixed ``size``."""

    #: What :meth:`decode` returns.
    python_type: type = object
    #: Chosen by size alone (no type was known): a map's BTF types may replace it.
    by_size = False
    #: Whether ints are signed (taken only in their range); else unsigned (negative ones are
    #: stored as two's complement).
    signed = False

    def __init__(self, size: int, role: str, map_what: str) -> None:
        self.size = size
        self.role = role  # "key" or "value"
        self.map_what = map_what

    def _size_error(self, given: int) -> MapError:
        return size_error(self.role, f"{self.map_what}: {self.role} is {given} bytes, the map's "
                                     f"{self.role} size is {self.size} bytes")

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, int):  # bools too, as in a dict (True is the key 1)
            return self._encode_int(obj)
        if isinstance(obj, (bytes, bytearray, memoryview, *_CTYPES)):
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
            return value.to_bytes(self.size, _BYTEORDER, signed=value < 0 or self.signed)
        except OverflowError:
            if self.signed:
                lo, hi = int_range(8 * self.size, True)
                where = f"a signed {self.size}-byte int ({lo} to {hi})"
            else:
                where = f"{self.size} bytes"
            raise OverflowError(
                f"{self.map_what}: {self.role} {value} does not fit in {where}"
            ) from None

    def decode(self, data: bytes) -> Any:
        return data

    def array_format(self) -> str | None:
        """The ``memoryview.cast`` format that decodes a run of values at once (native-order
        unsigned or signed ints), or None when values must be decoded one by one."""
        return None

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        """``(dtype, exact)``: with ``exact`` the map's bytes are viewed with the dtype as
        they are; otherwise values are decoded first and stored in it (``object`` here)."""
        return np.dtype("O"), False


class IntCodec(Codec):
    python_type = int
    #: Whether decode() is plain int.from_bytes (so many values decode with one cast).
    _PLAIN = True

    def encode(self, obj: object) -> bytes:
        if type(obj) is int:  # the hot path: no isinstance ladder (SignedIntCodec has its own)
            try:
                return obj.to_bytes(self.size, _BYTEORDER, signed=obj < 0)
            except OverflowError:
                pass  # the generic path raises with the map's name
        return super().encode(obj)

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data, _BYTEORDER)

    def array_format(self) -> str | None:
        if not self._PLAIN or self.size not in _CAST_FORMATS:
            return None
        fmt = _CAST_FORMATS[self.size]
        return fmt.lower() if self.signed else fmt

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        if self.size not in (1, 2, 4, 8):
            return super().numpy_dtype(np)
        order = "<" if _BYTEORDER == "little" else ">"
        return np.dtype(f"{order}{'i' if self.signed else 'u'}{self.size}"), True


class BytesCodec(Codec):
    python_type = bytes

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        return np.dtype(f"V{self.size}"), True


class CTypesCodec(Codec):
    def __init__(self, ctype: type[Any], size: int, role: str, map_what: str) -> None:
        _check_size(ctypes.sizeof(ctype), ctype.__name__, size, role, map_what)
        super().__init__(size, role, map_what)
        self.signed = getattr(ctype, "_type_", None) in _SIGNED_CTYPE_CODES
        self.ctype = ctype
        self.python_type = ctype

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, self.ctype):
            return bytes(obj)
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        value = self.ctype.from_buffer_copy(data)
        return value.value if isinstance(value, ctypes._SimpleCData) else value

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        try:
            return np.dtype(self.ctype), True
        except (TypeError, ValueError, NotImplementedError):  # bitfields, pointers
            return super().numpy_dtype(np)


class StructFormatCodec(Codec):
    """A :mod:`struct` format: decodes to a tuple, or to the value itself when the format has
    one field; encodes a sequence of values (or that one value)."""

    python_type = tuple

    def __init__(self, fmt: str, size: int, role: str, map_what: str) -> None:
        try:
            self.layout = struct.Struct(fmt)
        except struct.error as exc:
            raise ValueError(f"{map_what}: bad struct format {fmt!r} for the {role}: {exc}") \
                from None
        _check_size(self.layout.size, f"struct format {fmt!r}", size, role, map_what)
        super().__init__(size, role, map_what)
        zero = self.layout.unpack(bytes(size))
        self.single = len(zero) == 1
        if self.single:
            self.python_type = type(zero[0])

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, (tuple, list)):
            values = tuple(obj)
        elif self.single and not isinstance(obj, (bytes, bytearray, memoryview, *_CTYPES)):
            values = (obj,)
        else:
            return super().encode(obj)
        try:
            return self.layout.pack(*values)
        except struct.error as exc:
            raise TypeError(f"{self.map_what}: {self.role} {obj!r} does not match struct format "
                            f"{self.layout.format!r}: {exc}") from None

    def decode(self, data: bytes) -> Any:
        values = self.layout.unpack(data)
        return values[0] if self.single else values


class NumpyCodec(Codec):
    """A numpy dtype: decodes to a numpy scalar (``np.void`` records for structured dtypes);
    encodes numpy values, tuples, mappings of field names and the usual raw forms."""

    def __init__(self, dtype: Any, size: int, role: str, map_what: str) -> None:
        import numpy as np

        self.dtype = np.dtype(dtype)
        _check_size(self.dtype.itemsize, f"dtype {self.dtype}", size, role, map_what)
        super().__init__(size, role, map_what)
        self.signed = self.dtype.kind == "i"
        self.python_type = self.dtype.type

    def encode(self, obj: object) -> bytes:
        import numpy as np

        if isinstance(obj, (bytes, bytearray, memoryview, *_CTYPES)) or (
                isinstance(obj, int) and not self.dtype.names and self.dtype.kind in "ui"):
            return super().encode(obj)
        if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype == self.dtype:
            data = obj.tobytes()
        else:
            data = self._convert(np, obj)
        if len(data) != self.size:  # an array of several values, not one
            raise size_error(self.role, f"{self.map_what}: {self.role} {obj!r} is "
                                        f"{len(data)} bytes, one {self.dtype} is {self.size}")
        return data

    def _convert(self, np: Any, obj: object) -> bytes:
        if self.dtype.kind in "uib" and not isinstance(obj, (int, np.integer, np.bool_)):
            # numpy would truncate 1.7 to 1 and parse "12"; an integer field takes integers.
            raise TypeError(f"{self.map_what}: {self.role} {obj!r} is not an integer (dtype "
                            f"{self.dtype})")
        try:
            if isinstance(obj, Mapping) and self.dtype.names:
                record = np.zeros((), dtype=self.dtype)  # fields not given are zero
                for name, value in obj.items():
                    if name not in self.dtype.names:
                        raise TypeError(f"no field {name!r} (fields: "
                                        f"{', '.join(self.dtype.names)})")
                    record[name] = value
                return bytes(record.tobytes())
            return bytes(np.array(obj, dtype=self.dtype).tobytes())
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"{self.map_what}: {self.role} {obj!r} does not fit dtype "
                            f"{self.dtype}: {exc}") from None

    def decode(self, data: bytes) -> Any:
        import numpy as np

        return np.frombuffer(data, dtype=self.dtype)[0].copy()

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        return self.dtype, True


def size_error(role: str, message: str) -> MapError:
    """InvalidKeySize for keys, InvalidValueSize for values (and records)."""
    return (InvalidKeySize if role == "key" else InvalidValueSize)(message)


def _check_size(given: int, shown: str, size: int, role: str, map_what: str) -> None:
    if given != size:
        raise size_error(role, f"{map_what}: {shown} is {given} bytes, the map's {role} size "
                               f"is {size} bytes")


def _numpy_dtype(kind: object) -> Any:
    """``kind`` as a numpy dtype if it is one (or a numpy scalar type), else None; numpy is
    only looked at when it was imported already (a dtype cannot exist without it)."""
    np = sys.modules.get("numpy")
    if np is None:
        return None
    if isinstance(kind, np.dtype):
        return kind
    if isinstance(kind, type) and issubclass(kind, np.generic):
        return np.dtype(kind)
    return None


def natural_size(kind: object) -> int:
    """The size of the values ``kind`` describes (a ctypes type, a struct format string, a
    numpy dtype, a BTF type or generated class); 0 when it has none of its own (``int``,
    ``bytes``) or is not a type make_codec knows (it then raises with its own message)."""
    if isinstance(kind, type) and issubclass(kind, _CTYPES):
        return ctypes.sizeof(kind)
    if isinstance(kind, str):
        try:
            return struct.calcsize(kind)
        except struct.error:
            return 0
    if kind is int or kind is bytes:
        return 0
    dtype = _numpy_dtype(kind)
    if dtype is not None:
        return int(dtype.itemsize)
    from .btf_codec import size_of_kind

    return size_of_kind(kind) or 0


def make_codec(kind: object, size: int, role: str, map_what: str) -> Codec:
    """A codec for ``kind``: None (by size), ``int``, ``bytes``, a ctypes type, a struct format
    string, a numpy dtype, a :class:`~bpf4py.btf.BtfType` or a class generated from BTF."""
    if kind is None:
        codec = make_codec(int if size in (1, 2, 4, 8) else bytes, size, role, map_what)
        codec.by_size = True
        return codec
    if kind is int:
        return IntCodec(size, role, map_what)
    if kind is bytes:
        return BytesCodec(size, role, map_what)
    if isinstance(kind, type) and issubclass(kind, _CTYPES):
        return CTypesCodec(kind, size, role, map_what)
    if isinstance(kind, str):
        return StructFormatCodec(kind, size, role, map_what)
    dtype = _numpy_dtype(kind)
    if dtype is not None:
        return NumpyCodec(dtype, size, role, map_what)
    from .btf_codec import codec_for_kind

    from_btf = codec_for_kind(kind, size, role, map_what)
    if from_btf is None:
        raise TypeError(f"{map_what}: {role} type must be int, bytes or a ctypes type (or a "
                        f"struct format, a numpy dtype, a BTF type), got {kind!r}")
    return from_btf
