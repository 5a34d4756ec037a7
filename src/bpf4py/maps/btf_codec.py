"""Key and value codecs derived from BTF: what a map's C types look like in Python.

Maps of an object compiled with ``-g`` decode through their BTF key and value types unless
:meth:`~bpf4py.maps.base.Map.typed` says otherwise:

* integers (through typedefs, ``const``, ``volatile``): ``int``, signed where C says so --
  unsigned 1/2/4/8-byte ones use the plain :class:`~bpf4py.maps.codec.IntCodec`; pointers are
  unsigned ints; ``_Bool`` is ``bool``; ``float``/``double`` are ``float``;
* named enums: members of a generated :class:`enum.IntEnum` (values the enum does not name
  stay plain ints); given back as a member, an int or a member's name;
* arrays of 1-byte integers: ``bytes`` of the array's length (``char`` arrays are C strings:
  decoded up to the first NUL); other arrays: tuples; both are given back as sequences of up
  to that many elements, the rest zero;
* structs and unions: instances of a generated class (a :class:`BtfStruct`, which is a tuple)
  with one attribute per member, ``_asdict()`` and ``_replace()``; members of anonymous
  structs and unions are members of the enclosing type, as in C; bitfields are ints.  Given
  back as such an instance, a mapping (``{"port": 80}``), keyword arguments to the class
  (``m.value_type(port=80)``), a sequence of member values, or -- as for every codec -- raw
  bytes or a ctypes object of the right size.  Members not given are zero.  A union encodes
  from its largest member that is not ``None`` (build it with one member; ``_replace``
  clears the others).

Each codec is generated once per type: one ``struct.Struct`` for the whole flat layout and a
decoder/encoder compiled for it, so decoding a struct costs one ``unpack`` and one tuple.

Example::

    flows = ebpf.map("FLOWS")                   # key: struct flow_key, value: struct stats
    for key, stats in flows.items():
        print(key.saddr, key.dport, stats.packets, stats._asdict())
    flows[{"saddr": 1, "daddr": 2, "sport": 3, "dport": 80, "proto": 6}] = {"packets": 0}
"""

from __future__ import annotations

import ctypes
import numbers
import operator
import re
import struct
import sys
from collections.abc import Callable, Mapping
from enum import IntEnum
from types import CodeType
from typing import Any, ClassVar, NamedTuple, TypeVar

from ..btf import INT_BOOL, MODIFIERS, Btf, BtfError, BtfType, Kind, Member
from ..errors import BpfError
from .codec import Codec, IntCodec, int_range, size_error

_ORDER: Any = sys.byteorder
_PREFIX = "<" if _ORDER == "little" else ">"
_MISSING: Any = object()
_BYTES_LIKE = (bytes, bytearray, memoryview)
_CTYPES = (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)
_RAW = (*_BYTES_LIKE, *_CTYPES)
S = TypeVar("S", bound="BtfStruct")

__all__ = ["BtfCodec", "BtfStruct", "EnumCodec", "SignedIntCodec", "codec_for", "codec_for_kind"]


# --- generated values ------------------------------------------------------------------------

class BtfStruct(tuple):  # type: ignore[type-arg]
    """Base of the classes generated for BTF structs and unions: a tuple of member values in
    declaration order, with attribute access by member name.

    ``Cls(*values, **members)`` builds one (members not given are zero, ``None`` for union
    members); nested structs, arrays and enums accept mappings, sequences and names.

    Minimum kernel version: none (pure Python; maps get BTF types from Linux 4.18).

    Example::

        Flow = flows.key_type
        key = Flow(saddr=1, daddr=2, dport=80)
        assert key.dport == 80 and key._asdict()["sport"] == 0
        assert key._replace(dport=443).dport == 443 and len(bytes(key)) == flows.key_size
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _node: ClassVar[_Composite]

    def __new__(cls: type[S], *args: Any, **kwargs: Any) -> S:
        built: S = cls._node.build(cls, args, kwargs, cls.__name__)
        return built

    def _asdict(self) -> dict[str, Any]:
        """Member names to values, nested structs as dicts and arrays as lists."""
        return {name: _plain(value) for name, value in zip(self._fields, self)}

    def _replace(self: S, **changes: Any) -> S:
        """A copy with some members changed (for a union member: the others become None)."""
        replaced: S = self._node.replace(self, changes)
        return replaced

    def __bytes__(self) -> bytes:
        return self._node.pack()(self)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"{type(self).__name__}({inner})"


def _plain(value: Any) -> Any:
    if isinstance(value, BtfStruct):
        return value._asdict()
    if type(value) is tuple:
        return [_plain(v) for v in value]
    return value


_RESERVED = {name for name in dir(BtfStruct) if name.startswith("_")}


def _py_name(name: str, fallback: str) -> str:
    name = re.sub(r"\W", "_", name).strip("_") or fallback
    return name if name.isidentifier() else f"_{name}"


# --- code generation -------------------------------------------------------------------------

# Generated functions by source text: the same C type loaded again (every open of an object)
# reuses the compiled code instead of compiling it anew.
_COMPILED: dict[str, CodeType] = {}
_COMPILED_MAX = 1024

class _Gen:
    """A namespace and the helpers one compiled decoder/encoder pair refers to."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"_new": tuple.__new__}
        self._refs: dict[int, str] = {}
        self._elems: dict[tuple[int, str], str] = {}

    def ref(self, obj: object, hint: str) -> str:
        name = self._refs.get(id(obj))
        if name is None:
            name = self._refs[id(obj)] = f"_{hint}{len(self._refs)}"
            self.ns[name] = obj
        return name

    def define(self, params: str, body: str) -> str:
        name = f"_f{len(self.ns)}"
        source = f"def {name}({params}):\n{body}"  # built from BTF numbers and checked names only
        code = _COMPILED.get(source)
        if code is None:
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            code = _COMPILED[source] = compile(source, f"<bpf4py BTF codec {name}>", "exec")
        exec(code, self.ns)  # noqa: S102
        return name

    def elem_decoder(self, node: Node) -> str:
        key = (id(node), "d")
        if key not in self._elems:
            self.ref(node, "n")  # keeps id(node) unique while the namespace lives
            self._elems[key] = self.define("v, b", f"    return {node.dec(self, 'b', 0)}\n")
        return self._elems[key]

    def elem_encoder(self, node: Node) -> str:
        key = (id(node), "e")
        if key not in self._elems:
            self.ref(node, "n")
            self._elems[key] = self.define("o", f"    return ({node.enc(self, 'o')},)\n")
        return self._elems[key]


def _at(base: str, k: int) -> str:
    if not base:
        return str(k)
    return base if k == 0 else f"{base}+{k}"


# --- layout nodes ----------------------------------------------------------------------------

class Node:
    """How one C type sits in bytes and what it is in Python.

    ``fmt`` is its ``struct`` format (exactly ``size`` bytes) producing ``nvals`` values;
    ``dec``/``enc`` give Python expressions converting those values (``v[...]``) to the
    Python value and back; ``coerce`` checks and normalises a value given by the user."""

    size: int
    fmt: str
    nvals: int = 1
    python_type: type = object
    c_name: str = ""
    _fns: tuple[Callable[[bytes], Any], Callable[[Any], bytes]] | None = None

    def conv(self, g: _Gen, raw: str) -> str:
        return raw

    def econv(self, g: _Gen, x: str) -> str:
        return x

    def dec(self, g: _Gen, base: str, k: int) -> str:
        return self.conv(g, f"v[{_at(base, k)}]")

    def enc(self, g: _Gen, x: str) -> str:
        return self.econv(g, x)

    def coerce(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def default(self) -> Any:
        raise NotImplementedError

    def dtype(self, np: Any, exact: bool) -> Any:
        """The numpy dtype of this type: the exact memory layout (None when numpy cannot
        express it: bitfields, odd-sized ints), or else one field per Python value."""
        raise NotImplementedError

    def _compile(self) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
        if self._fns is None:
            layout = struct.Struct(_PREFIX + self.fmt)
            if layout.size != self.size:
                raise BtfError(f"{self.c_name}: laid out in {layout.size} bytes, BTF says "
                               f"{self.size} (overlapping members?)")
            g = _Gen()
            g.ns.update(_unpack=layout.unpack_from, _pack=layout.pack)
            # v[0:nvals] is all of v: the common flat struct becomes _new(C, v).
            expr = self.dec(g, "", 0).replace(f"v[0:{self.nvals}]", "v")
            decode = g.define("data", f"    v = _unpack(data)\n    return {expr}\n")
            encode = g.define("o", f"    return _pack({self.enc(g, 'o')})\n")
            self._fns = (g.ns[decode], g.ns[encode])
        return self._fns

    def unpack(self) -> Callable[[bytes], Any]:
        """bytes (at least ``size``) -> value."""
        return self._compile()[0]

    def pack(self) -> Callable[[Any], bytes]:
        """A value (as :meth:`coerce` returns it) -> bytes."""
        return self._compile()[1]


class IntNode(Node):
    python_type = int

    def __init__(self, size: int, signed: bool, c_name: str) -> None:
        self.size, self.signed, self.c_name = size, signed, c_name
        self.lo, self.hi = int_range(8 * size, signed)
        self.odd = size not in (1, 2, 4, 8)
        if self.odd:
            self.fmt = f"{size}s"
        else:
            code = {1: "b", 2: "h", 4: "i", 8: "q"}[size]
            self.fmt = code if signed else code.upper()

    def conv(self, g: _Gen, raw: str) -> str:
        if not self.odd:
            return raw
        return f"{g.ref(int.from_bytes, 'fb')}({raw}, {_ORDER!r}, signed={self.signed})"

    def econv(self, g: _Gen, x: str) -> str:
        if not self.odd:
            return x
        return f"{x}.to_bytes({self.size}, {_ORDER!r}, signed={self.signed})"

    def coerce(self, value: Any, path: str) -> Any:
        try:
            value = operator.index(value)  # ints, and numpy's integer scalars
        except TypeError:
            raise TypeError(f"{path}: {self.c_name} takes an int, got "
                            f"{type(value).__name__}") from None
        if not self.lo <= value <= self.hi:
            raise OverflowError(f"{path}: {value} does not fit in {self.c_name} ({self.lo} to "
                                f"{self.hi})")
        return value

    def default(self) -> Any:
        return 0

    def dtype(self, np: Any, exact: bool) -> Any:
        if self.odd:
            return None if exact else np.dtype("O")
        return np.dtype(f"{_PREFIX}{'i' if self.signed else 'u'}{self.size}")


class EnumNode(IntNode):
    def __init__(self, size: int, signed: bool, c_name: str, cls: type[IntEnum] | None) -> None:
        super().__init__(size, signed, c_name)
        self.cls = cls
        if cls is not None:
            self.python_type = cls

    def conv(self, g: _Gen, raw: str) -> str:
        if self.cls is None:
            return super().conv(g, raw)
        members = g.ref(self.cls._value2member_map_, "m")
        return f"{members}.get({raw}, {raw})"

    def coerce(self, value: Any, path: str) -> Any:
        if isinstance(value, str) and self.cls is not None:
            try:
                return self.cls[value]
            except KeyError:
                names = ", ".join(self.cls.__members__)
                raise ValueError(f"{path}: {self.c_name} has no member {value!r} (members: "
                                 f"{names})") from None
        value = super().coerce(value, path)
        if self.cls is None:
            return value
        return self.cls._value2member_map_.get(value, value)

    def default(self) -> Any:
        return self.coerce(0, "")


class BoolNode(Node):
    fmt, size, python_type, c_name = "?", 1, bool, "_Bool"

    def coerce(self, value: Any, path: str) -> Any:
        if not isinstance(value, int) or value not in (0, 1):
            raise TypeError(f"{path}: _Bool takes True, False, 0 or 1, got {value!r}")
        return bool(value)

    def default(self) -> Any:
        return False

    def dtype(self, np: Any, exact: bool) -> Any:
        return np.dtype("?")


class FloatNode(Node):
    python_type = float

    def __init__(self, size: int, c_name: str) -> None:
        self.size, self.c_name = size, c_name
        self.fmt = {2: "e", 4: "f", 8: "d"}[size]

    def coerce(self, value: Any, path: str) -> Any:
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{path}: {self.c_name} takes a float, got {type(value).__name__}")
        return float(value)

    def default(self) -> Any:
        return 0.0

    def dtype(self, np: Any, exact: bool) -> Any:
        return np.dtype(f"{_PREFIX}f{self.size}")


class BytesNode(Node):
    """An array of 1-byte integers; ``cstring`` for ``char`` arrays (up to the first NUL)."""

    python_type = bytes

    def __init__(self, size: int, cstring: bool, c_name: str) -> None:
        self.size, self.cstring, self.c_name = size, cstring, c_name
        self.fmt = f"{size}s"

    def conv(self, g: _Gen, raw: str) -> str:
        return f"{raw}.split(b'\\0', 1)[0]" if self.cstring else raw

    def coerce(self, value: Any, path: str) -> Any:
        if isinstance(value, str) and self.cstring:
            value = value.encode()
        if not isinstance(value, _BYTES_LIKE):
            raise TypeError(f"{path}: {self.c_name} takes bytes"
                            + (" or str" if self.cstring else "") + f", got "
                            f"{type(value).__name__}")
        data = bytes(value)
        if len(data) > self.size:
            raise ValueError(f"{path}: {len(data)} bytes given, {self.c_name} holds "
                             f"{self.size}")
        return data.split(b"\0", 1)[0] if self.cstring else data.ljust(self.size, b"\0")

    def default(self) -> Any:
        return b"" if self.cstring else bytes(self.size)

    def dtype(self, np: Any, exact: bool) -> Any:
        return np.dtype(f"{'S' if self.cstring else 'V'}{self.size}")


class ArrayNode(Node):
    python_type = tuple

    def __init__(self, elem: Node, n: int, c_name: str) -> None:
        self.elem, self.n, self.c_name = elem, n, c_name
        self.size = elem.size * n
        self.nvals = elem.nvals * n
        single = elem.nvals == 1 and len(elem.fmt) == 1
        self.fmt = f"{n}{elem.fmt}" if single else elem.fmt * n

    def dec(self, g: _Gen, base: str, k: int) -> str:
        elem, n = self.elem, self.n
        if elem.nvals == 1:
            window = f"v[{_at(base, k)}:{_at(base, k + n)}]"
            one = elem.conv(g, "_r")
            return window if one == "_r" else f"tuple([{one} for _r in {window}])"
        step = elem.nvals
        return (f"tuple([{g.elem_decoder(elem)}(v, _j) for _j in range({_at(base, k)}, "
                f"{_at(base, k + n * step)}, {step})])")

    def enc(self, g: _Gen, x: str) -> str:
        elem = self.elem
        if elem.nvals == 1:
            one = elem.econv(g, "_e")
            return f"*{x}" if one == "_e" else f"*[{one} for _e in {x}]"
        return f"*[_y for _e in {x} for _y in {g.elem_encoder(elem)}(_e)]"

    def coerce(self, value: Any, path: str) -> Any:
        if isinstance(value, (str, Mapping, *_BYTES_LIKE)):
            raise TypeError(f"{path}: {self.c_name} takes a sequence, got "
                            f"{type(value).__name__}")
        try:
            items = list(value)
        except TypeError:
            raise TypeError(f"{path}: {self.c_name} takes a sequence, got "
                            f"{type(value).__name__}") from None
        if len(items) > self.n:
            raise ValueError(f"{path}: {len(items)} elements given, {self.c_name} holds "
                             f"{self.n}")
        elem = self.elem
        out = [elem.coerce(item, f"{path}[{i}]") for i, item in enumerate(items)]
        out += [elem.default() for _ in range(self.n - len(out))]
        return tuple(out)

    def default(self) -> Any:
        return tuple(self.elem.default() for _ in range(self.n))

    def dtype(self, np: Any, exact: bool) -> Any:
        sub = self.elem.dtype(np, exact)
        return None if sub is None else np.dtype((sub, (self.n,)))


class Field(NamedTuple):
    """A member as Python sees it: ``offset`` in bytes from the start of the enclosing struct
    or union; ``bits`` > 0 for a bitfield starting ``bit_offset`` bits into it; ``optional``
    for union members (``None`` when not given)."""

    name: str
    node: Node
    offset: int
    bits: int = 0
    bit_offset: int = 0
    optional: bool = False

    def coerce(self, value: Any, path: str) -> Any:
        if value is None and self.optional:
            return None
        value = self.node.coerce(value, path)
        if self.bits and not isinstance(value, bool):
            lo, hi = int_range(self.bits, getattr(self.node, "signed", False))
            if not lo <= value <= hi:
                raise OverflowError(f"{path}: {value} does not fit in a {self.bits}-bit "
                                    f"bitfield ({lo} to {hi})")
        return value

    def default(self) -> Any:
        return None if self.optional else self.node.default()


class _Unit:
    """A run of bytes of a struct unpacked as one piece: a member (``field``), the storage of
    one or more bitfields (``bitfields``: field index, shift, width), or an anonymous struct
    or union (``anon``: its node, the first of its fields here and how many)."""

    __slots__ = ("offset", "size", "field", "bitfields", "anon", "first", "count", "k")

    def __init__(self, offset: int, size: int, field: int = -1,
                 bitfields: list[tuple[int, int, int]] | None = None,
                 anon: _Composite | None = None, first: int = 0, count: int = 0) -> None:
        self.offset, self.size, self.field, self.bitfields = offset, size, field, bitfields
        self.anon, self.first, self.count = anon, first, count
        self.k = 0  # index of its first value in the struct's unpacked values

    def fmt(self, fields: list[Field]) -> str:
        if self.field >= 0:
            return fields[self.field].node.fmt
        if self.bitfields is not None and self.size in (1, 2, 4, 8):
            return {1: "B", 2: "H", 4: "I", 8: "Q"}[self.size]
        return f"{self.size}s"

    def nvals(self, fields: list[Field]) -> int:
        return fields[self.field].node.nvals if self.field >= 0 else 1


class _Composite(Node):
    """A struct or union: named fields (anonymous members flattened in) and a class."""

    cls: type[BtfStruct] | None
    fields: list[Field]
    siblings: dict[int, tuple[int, ...]]  # field -> union members it excludes
    _default: Any = _MISSING
    _lookup: dict[str, int] | None = None
    _defaults: tuple[Any, ...] | None = None

    def _index(self) -> dict[str, int]:
        if self._lookup is None:
            self._lookup = {f.name: i for i, f in enumerate(self.fields)}
        return self._lookup

    def build(self, cls: type[S] | None, args: tuple[Any, ...], kwargs: Mapping[Any, Any],
              path: str) -> Any:
        fields = self.fields
        if len(args) > len(fields):
            raise TypeError(f"{path} takes at most {len(fields)} values "
                            f"({', '.join(f.name for f in fields)}), got {len(args)}")
        if self._defaults is None:  # values are immutable: one tuple of defaults will do
            self._defaults = tuple(f.default() for f in fields)
        values = list(self._defaults)
        for i, value in enumerate(args):
            values[i] = fields[i].coerce(value, f"{path}.{fields[i].name}")
        index = self._index()
        for key, value in kwargs.items():
            i = index.get(key, -1)
            if i < 0:
                raise TypeError(f"{path} has no member {key!r} (members: "
                                f"{', '.join(f.name for f in fields)})")
            if i < len(args):
                raise TypeError(f"{path}: member {key!r} given twice")
            values[i] = fields[i].coerce(value, f"{path}.{key}")
        out = tuple(values)
        return out if cls is None else tuple.__new__(cls, out)

    def replace(self, obj: S, changes: Mapping[str, Any]) -> S:
        values, index = list(obj), self._index()
        path = type(obj).__name__
        positions = []
        for key in changes:
            if key not in index:
                raise TypeError(f"{path} has no member {key!r} (members: "
                                f"{', '.join(f.name for f in self.fields)})")
            positions.append(index[key])
            for j in self.siblings.get(index[key], ()):
                values[j] = None
        for i, value in zip(positions, changes.values()):
            values[i] = self.fields[i].coerce(value, f"{path}.{self.fields[i].name}")
        return tuple.__new__(type(obj), values)

    def coerce(self, value: Any, path: str) -> Any:
        cls = self.cls
        if cls is not None and type(value) is cls:
            return value
        if value is None:
            return self.default()
        if isinstance(value, Mapping):
            return self.build(cls, (), value, path)
        if isinstance(value, _RAW):
            data = bytes(value)
            if len(data) != self.size:
                raise ValueError(f"{path}: {len(data)} bytes given, {self.c_name} is "
                                 f"{self.size} bytes")
            return self.unpack()(data)
        if isinstance(value, (tuple, list)):
            return self.build(cls, tuple(value), {}, path)
        raise TypeError(f"{path}: {self.c_name} takes a mapping of its members, a sequence "
                        f"of them or a {cls.__name__ if cls else 'tuple'}, got "
                        f"{type(value).__name__}")

    def default(self) -> Any:
        if self._default is _MISSING:
            self._default = self.build(self.cls, (), {}, self.c_name)
        return self._default

    def make_class(self, name: str) -> None:
        names = tuple(f.name for f in self.fields)
        ns: dict[str, Any] = {"__slots__": (), "_fields": names, "_node": self,
                              "__doc__": f"{self.c_name} (from BTF): {', '.join(names)}"}
        for i, member in enumerate(names):
            if member.isidentifier() and member not in _RESERVED:
                ns[member] = property(operator.itemgetter(i),
                                      doc=f"{member}: {self.fields[i].node.c_name}")
        self.cls = type(name, (BtfStruct,), ns)
        self.python_type = self.cls

    def wrap(self, g: _Gen, values: str) -> str:
        return values if self.cls is None else f"_new({g.ref(self.cls, 'C')}, {values})"

    def dtype(self, np: Any, exact: bool) -> Any:
        formats = []
        for f in self.fields:
            sub = f.node.dtype(np, exact)
            if sub is None or (exact and f.bits):
                return None
            formats.append(sub)
        names = [f.name for f in self.fields]
        if not exact:
            return np.dtype(list(zip(names, formats)))
        return np.dtype({"names": names, "formats": formats,
                         "offsets": [f.offset for f in self.fields], "itemsize": self.size})


class StructNode(_Composite):
    def __init__(self, fields: list[Field], units: list[_Unit], size: int, c_name: str,
                 siblings: dict[int, tuple[int, ...]]) -> None:
        self.units = sorted(units, key=lambda u: u.offset)
        self.fields, self.size, self.c_name, self.siblings = fields, size, c_name, siblings
        self.cls = None
        self.python_type = tuple
        parts, end, k = [], 0, 0
        for unit in self.units:
            if unit.offset < end:
                raise BtfError(f"{c_name}: members overlap at byte {unit.offset}")
            if unit.offset > end:
                parts.append(f"{unit.offset - end}x")
            parts.append(unit.fmt(fields))
            unit.k, k = k, k + unit.nvals(fields)
            end = unit.offset + unit.size
        if size > end:
            parts.append(f"{size - end}x")
        self.fmt, self.nvals = "".join(parts), k

    def dec(self, g: _Gen, base: str, k: int) -> str:
        exprs: list[str | None] = [None] * len(self.fields)
        for unit in self.units:
            raw = f"v[{_at(base, k + unit.k)}]"
            if unit.field >= 0:
                exprs[unit.field] = self.fields[unit.field].node.dec(g, base, k + unit.k)
            elif unit.bitfields is not None:
                if unit.size not in (1, 2, 4, 8):
                    raw = f"{g.ref(int.from_bytes, 'fb')}({raw}, {_ORDER!r})"
                for i, shift, width in unit.bitfields:
                    exprs[i] = _bitfield_dec(g, self.fields[i].node, raw, shift, width)
            else:
                assert unit.anon is not None
                exprs[unit.first] = f"*{g.ref(unit.anon.unpack(), 'a')}({raw})"
                for j in range(unit.first + 1, unit.first + unit.count):
                    exprs[j] = ""
        if self.nvals == len(exprs) and all(
                e == f"v[{_at(base, k + i)}]" for i, e in enumerate(exprs)):
            # One value per member, in order: a slice (the root's whole ``v`` once compiled).
            return self.wrap(g, f"v[{_at(base, k)}:{_at(base, k + len(exprs))}]")
        listed = ", ".join(e for e in exprs if e)
        return self.wrap(g, f"({listed},)" if listed else "()")

    def enc(self, g: _Gen, x: str) -> str:
        parts = []
        for unit in self.units:
            if unit.field >= 0:
                parts.append(self.fields[unit.field].node.enc(g, f"{x}[{unit.field}]"))
            elif unit.bitfields is not None:
                terms = []
                for i, shift, width in unit.bitfields:
                    term = f"({x}[{i}] & {(1 << width) - 1})"
                    terms.append(f"({term} << {shift})" if shift else term)
                word = " | ".join(terms)
                if unit.size not in (1, 2, 4, 8):
                    word = f"({word}).to_bytes({unit.size}, {_ORDER!r})"
                parts.append(word)
            else:
                assert unit.anon is not None
                packer = g.ref(unit.anon.pack(), "p")
                parts.append(f"{packer}({x}[{unit.first}:{unit.first + unit.count}])")
        return ", ".join(parts)


def _bitfield_dec(g: _Gen, node: Node, raw: str, shift: int, width: int) -> str:
    expr = f"(({raw} >> {shift}) & {(1 << width) - 1})" if shift else \
        f"({raw} & {(1 << width) - 1})"
    if isinstance(node, BoolNode):
        return f"bool({expr})"
    if getattr(node, "signed", False):
        sign = 1 << (width - 1)
        expr = f"(({expr} ^ {sign}) - {sign})"
    return node.conv(g, expr)


class UnionNode(_Composite):
    """A union: every member decoded from the same bytes; encoded from its largest member
    that is given (not ``None``)."""

    def __init__(self, alternatives: list[StructNode], size: int, c_name: str) -> None:
        self.alternatives, self.size, self.c_name = alternatives, size, c_name
        self.fmt = f"{size}s"
        self.cls = None
        self.python_type = tuple
        self.fields, self.ranges, self.siblings = [], [], {}
        for alt in alternatives:
            first = len(self.fields)
            self.fields += [f._replace(optional=True) for f in alt.fields]
            self.ranges.append((first, len(self.fields)))
            for i, excluded in alt.siblings.items():
                self.siblings[first + i] = tuple(first + j for j in excluded)
        for a, b in self.ranges:
            others = tuple(j for c, d in self.ranges if (c, d) != (a, b) for j in range(c, d))
            for i in range(a, b):
                self.siblings[i] = self.siblings.get(i, ()) + others

    def conv(self, g: _Gen, raw: str) -> str:
        return self.wrap(g, f"{g.ref(self.unpack_tuple, 'u')}({raw})")

    def econv(self, g: _Gen, x: str) -> str:
        return f"{g.ref(self.pack_tuple, 'q')}({x})"

    def unpack_tuple(self, data: bytes) -> tuple[Any, ...]:
        out: list[Any] = []
        for alt in self.alternatives:
            out += alt.unpack()(data)
        return tuple(out)

    def pack_tuple(self, values: Any) -> bytes:
        chosen = b""
        for alt, (a, b) in zip(self.alternatives, self.ranges):
            part = values[a:b]
            if all(v is None for v in part):
                continue
            if alt.size > len(chosen):
                filled = tuple(f.default() if v is None else v for f, v in zip(alt.fields, part))
                chosen = alt.pack()(filled)
        return chosen + bytes(self.size - len(chosen))

    def _compile(self) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
        if self._fns is None:
            if self.cls is None:
                self._fns = (self.unpack_tuple, self.pack_tuple)
            else:
                cls, unpack = self.cls, self.unpack_tuple
                self._fns = (lambda data: tuple.__new__(cls, unpack(data)), self.pack_tuple)
        return self._fns


# --- building nodes from BTF -------------------------------------------------------------------

_BUILDING: Any = object()


def layout(btf: Btf, type_id: int, hint: str = "") -> Node:
    """The node for a BTF type, built once per :class:`~bpf4py.btf.Btf` and type; ``hint``
    names the class of an anonymous struct, union or enum (a member's name)."""
    cache = btf._layouts
    node = cache.get(type_id)
    if node is _BUILDING:
        raise BtfError(f"{btf.describe(type_id)} contains itself")
    if node is None:
        cache[type_id] = _BUILDING
        try:
            node = cache[type_id] = _build(btf, btf.type(type_id), hint)
        except BaseException:
            del cache[type_id]
            raise
    return node


def _build(btf: Btf, t: BtfType, hint: str) -> Node:
    kind, c_name = t.kind, btf.describe(t)
    if kind in MODIFIERS:
        target = btf.type(t.type_id)
        if kind == Kind.TYPEDEF and not target.name and target.kind in (
                Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64):
            return _build(btf, target, t.name)  # typedef struct {...} name_t;
        return layout(btf, t.type_id, hint)
    if kind == Kind.INT:
        if t.encoding & INT_BOOL and t.size == 1:
            return BoolNode()
        return IntNode(t.size, t.signed, c_name)
    if kind == Kind.PTR:
        return IntNode(btf.pointer_size, False, c_name)
    if kind in (Kind.ENUM, Kind.ENUM64):
        return EnumNode(t.size, t.signed, c_name, _enum_class(t, t.name or hint))
    if kind == Kind.FLOAT:
        return FloatNode(t.size, c_name) if t.size in (2, 4, 8) else BytesNode(t.size, False,
                                                                                c_name)
    if kind == Kind.ARRAY:
        elem = btf.resolve(t.type_id)
        if elem.kind == Kind.INT and elem.size == 1 and not elem.encoding & INT_BOOL:
            return BytesNode(t.nelems, elem.name == "char", c_name)
        return ArrayNode(layout(btf, t.type_id, hint), t.nelems, c_name)
    if kind in (Kind.STRUCT, Kind.UNION, Kind.DATASEC):
        node = _composite(btf, t, c_name)
        node.make_class(_py_name(t.name or hint, f"anon_{kind.name.lower()}_{t.id}"))
        return node
    raise BtfError(f"{c_name} (BTF type {t.id}, {kind.name}) has no Python form: it cannot "
                   "be a map key or value")


def _composite(btf: Btf, t: BtfType, c_name: str) -> _Composite:
    if t.kind == Kind.DATASEC:
        if t.secinfos and not t.size:
            raise BtfError(f"{c_name}: the section is not laid out in this BTF (an object file "
                           "before libbpf opened it); use the loaded object's, "
                           "Btf.from_object(ebpf)")
        members = []
        for sec in t.secinfos:
            var = btf.type(sec.type_id)
            members.append(Member(var.name, var.type_id, sec.offset * 8))
        return _struct(btf, members, t.size, c_name)
    if t.kind == Kind.UNION:
        return _union(btf, t, c_name)
    return _struct(btf, list(t.members), t.size, c_name)


def _enum_class(t: BtfType, name: str) -> type[IntEnum] | None:
    members = [(e.name, e.value) for e in t.enumerators
               if e.name.isidentifier() and not (e.name.startswith("_") and e.name.endswith("_"))]
    if not name or not members:
        return None
    try:
        return IntEnum(_py_name(name, "anon_enum"), members, module=__name__)  # type: ignore[return-value]
    except (TypeError, ValueError):
        return None


def _bitfield(btf: Btf, m: Member) -> tuple[int, int]:
    """(bit offset, width) of a member; width 0 when it is not a bitfield.  Old-style BTF
    (no kind flag) puts the width and an extra offset in the member's INT type."""
    if m.bitfield_size:
        return m.bit_offset, m.bitfield_size
    t = btf.resolve(m.type_id)
    if t.kind == Kind.INT and (t.bit_offset or t.bits != 8 * t.size):
        return m.bit_offset + t.bit_offset, t.bits
    return m.bit_offset, 0


def _struct(btf: Btf, members: list[Member], size: int, c_name: str) -> StructNode:
    fields: list[Field] = []
    units: list[_Unit] = []
    groups: list[tuple[int, int, list[int]]] = []
    siblings: dict[int, tuple[int, ...]] = {}
    for m in members:
        bit_offset, width = _bitfield(btf, m)
        mt = btf.resolve(m.type_id)
        if width:
            if not m.name:
                continue  # unnamed bitfields are padding
            node = layout(btf, m.type_id)
            if not isinstance(node, (IntNode, BoolNode)):
                raise BtfError(f"{c_name}: bitfield {m.name!r} is of type "
                               f"{btf.describe(m.type_id)}")
            lo, hi = bit_offset // 8, -(-(bit_offset + width) // 8)
            fields.append(Field(m.name, node, lo, width, bit_offset))
            _add_bits(groups, len(fields) - 1, lo, hi)
            continue
        if bit_offset % 8:
            raise BtfError(f"{c_name}: member {m.name!r} starts {bit_offset} bits in, not on a "
                           "byte")
        offset = bit_offset // 8
        if not m.name and mt.kind in (Kind.STRUCT, Kind.UNION):
            anon = _composite(btf, mt, btf.describe(mt))
            first = len(fields)
            fields += [f._replace(offset=f.offset + offset) for f in anon.fields]
            for i, excluded in anon.siblings.items():
                siblings[first + i] = tuple(first + j for j in excluded)
            units.append(_Unit(offset, anon.size, anon=anon, first=first,
                               count=len(anon.fields)))
            continue
        node = layout(btf, m.type_id, m.name)
        fields.append(Field(m.name or f"_{len(fields)}", node, offset))
        units.append(_Unit(offset, node.size, field=len(fields) - 1))
    for lo, hi, indexes in groups:
        unit = _Unit(lo, hi - lo)
        unit.bitfields = [(i, _shift(fields[i], unit), fields[i].bits) for i in sorted(indexes)]
        units.append(unit)
    return StructNode(fields, units, size, c_name, siblings)


def _add_bits(groups: list[tuple[int, int, list[int]]], index: int, lo: int, hi: int) -> None:
    """Put bitfield ``index`` (bytes lo..hi) in with the bitfields it shares bytes with."""
    indexes = [index]
    for group in [g for g in groups if g[0] < hi and lo < g[1]]:
        groups.remove(group)
        lo, hi = min(lo, group[0]), max(hi, group[1])
        indexes += group[2]
    groups.append((lo, hi, indexes))


def _shift(f: Field, unit: _Unit) -> int:
    if _ORDER == "little":
        return f.bit_offset - 8 * unit.offset
    return 8 * (unit.offset + unit.size) - (f.bit_offset + f.bits)


def _union(btf: Btf, t: BtfType, c_name: str) -> UnionNode:
    alternatives: list[StructNode] = []
    for m in t.members:
        mt = btf.resolve(m.type_id)
        bit_offset, width = _bitfield(btf, m)
        if not m.name and not width and mt.kind == Kind.UNION:
            alternatives += _union(btf, mt, btf.describe(mt)).alternatives
        elif not m.name and not width and mt.kind == Kind.STRUCT:
            alternatives.append(_struct(btf, list(mt.members), mt.size, btf.describe(mt)))
        elif m.name:
            end = -(-(bit_offset + width) // 8) if width else bit_offset // 8 + btf.size_of(m.type_id)
            alternatives.append(_struct(btf, [m], end, f"{c_name}.{m.name}"))
    return UnionNode(alternatives, t.size, c_name)


# --- codecs ----------------------------------------------------------------------------------

class SignedIntCodec(IntCodec):
    """A signed integer in host order: ``int``, negative where C says so; an int outside the
    type's range raises OverflowError."""

    signed = True

    def encode(self, obj: object) -> bytes:
        if type(obj) is int:  # IntCodec's hot path, signed: 1 << 31 is no __s32
            try:
                return obj.to_bytes(self.size, _ORDER, signed=True)
            except OverflowError:
                pass  # the generic path raises with the map's name and the range
        return Codec.encode(self, obj)

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data, _ORDER, signed=True)


class EnumCodec(IntCodec):
    """A named C enum: decodes to members of a generated ``IntEnum`` (unknown values stay
    ints); encodes members, ints and member names."""

    _PLAIN = False  # decodes to enum members

    def __init__(self, node: EnumNode, role: str, map_what: str) -> None:
        super().__init__(node.size, role, map_what)
        self.node = node
        self.python_type = node.python_type
        self.signed = node.signed
        self._members = node.cls._value2member_map_ if node.cls else {}

    def decode(self, data: bytes) -> Any:
        value = int.from_bytes(data, _ORDER, signed=self.signed)
        return self._members.get(value, value)

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, str):
            obj = _checked(self, self.node, obj)
        if self.signed:  # IntCodec's hot path takes unsigned ints only
            return Codec.encode(self, obj)
        return super().encode(obj)


class BtfCodec(Codec):
    """Bytes <-> the Python form of a BTF struct, union, array, float or bool (see the
    module's documentation).

    Minimum kernel version: none (maps carry BTF key/value types from Linux 4.18).

    Example::

        codec = Btf.from_file("prog.bpf.o").codec_for("struct event")
        event = codec.decode(raw)
        assert codec.encode(event) == raw
    """

    def __init__(self, node: Node, role: str, map_what: str) -> None:
        super().__init__(node.size, role, map_what)
        # An int node here (odd-sized, or an enum without a class) encodes ints as Codec does.
        self.signed = isinstance(node, IntNode) and node.signed
        self.node = node
        self.python_type = node.python_type
        self._cls = node.cls if isinstance(node, _Composite) else None
        self._pack = node.pack()
        self.decode = node.unpack()  # type: ignore[method-assign,assignment]

    def encode(self, obj: object) -> bytes:
        if type(obj) is self._cls and self._cls is not None:
            return self._pack(obj)
        if not isinstance(self.node, BytesNode) and (
                isinstance(obj, _RAW)
                or (isinstance(obj, int) and not isinstance(obj, bool)
                    and not isinstance(self.node, (FloatNode, BoolNode)))):
            return super().encode(obj)
        return self._pack(_checked(self, self.node, obj))

    def numpy_dtype(self, np: Any) -> tuple[Any, bool]:
        exact = self.node.dtype(np, True)
        return (exact, True) if exact is not None else (self.node.dtype(np, False), False)


def _checked(codec: Codec, node: Node, obj: object) -> Any:
    try:
        return node.coerce(obj, codec.role)
    except (TypeError, ValueError, OverflowError) as exc:
        raise type(exc)(f"{codec.map_what}: {exc}") from None


def codec_for(btf: Btf, type_id: int, size: int, role: str, map_what: str) -> Codec:
    """The codec of BTF type ``type_id`` for a map's keys or values of ``size`` bytes."""
    try:
        node = layout(btf, type_id)
        node.unpack()  # compiles the codec
    except BpfError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError, struct.error) as exc:
        raise BtfError(f"{map_what}: BTF type {type_id} cannot be laid out ({exc}); is the "
                       "BTF malformed?") from exc
    return _codec(node, size, role, map_what)


def codec_for_kind(kind: object, size: int, role: str, map_what: str) -> Codec | None:
    """The codec for a :class:`~bpf4py.btf.BtfType` or a generated struct class given to
    ``typed()``; None for anything else."""
    if isinstance(kind, BtfType):
        return codec_for(kind.btf, kind.id, size, role, map_what)
    if isinstance(kind, type) and issubclass(kind, BtfStruct) and kind is not BtfStruct:
        return _codec(kind._node, size, role, map_what)
    return None


def size_of_kind(kind: object) -> int | None:
    """The size in bytes of a :class:`~bpf4py.btf.BtfType` (typedefs resolved) or a generated
    struct class; None for anything else."""
    if isinstance(kind, BtfType):
        return layout(kind.btf, kind.id).size
    if isinstance(kind, type) and issubclass(kind, BtfStruct) and kind is not BtfStruct:
        return kind._node.size
    return None


def _codec(node: Node, size: int, role: str, map_what: str) -> Codec:
    if node.size != size:
        raise size_error(role, f"{map_what}: {node.c_name} is {node.size} bytes, the map's "
                               f"{role} size is {size} bytes")
    if isinstance(node, EnumNode) and node.cls is not None:
        return EnumCodec(node, role, map_what)
    if type(node) is IntNode and not node.odd:
        return (SignedIntCodec if node.signed else IntCodec)(size, role, map_what)
    return BtfCodec(node, role, map_what)
