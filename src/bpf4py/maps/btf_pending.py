"""BTF key/value types resolved on a map's first use, not when its object loads.

Building the codec classes of every map of an object costs more than loading a small object
(class creation, struct layouts).  The loader therefore hands each BTF-typed map a
:class:`PendingCodec` in place of its by-size codec: the first attribute read on it (the
first ``m[k]``, ``m.value_type``, ``items()``...) parses the object's BTF once per object,
builds the map's codecs and puts them on the map, so every later call goes straight to the
real codec.  A map never used pays nothing.

Example (what the loader does)::

    source = BtfSource.from_bytes(obj.btf_data(), obj.name)
    defer_btf(m, source, spec.btf_key_type_id, spec.btf_value_type_id)
    m[1]            # resolves: key and value decode as the BTF says from here on
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..btf import Btf, BtfError

if TYPE_CHECKING:
    from .base import Map
    from .codec import Codec

log = logging.getLogger(__name__)


class BtfSource:
    """The BTF a map's types come from, loaded on the first demand and shared: one object's
    raw BTF (every map of the object), or a BTF object in the kernel (a map opened by pin or
    id)."""

    def __init__(self, load: Callable[[], Btf]) -> None:
        self._load: Callable[[], Btf] | None = load
        self._btf: Btf | None = None
        self._error: BtfError | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_bytes(cls, data: bytes, what: str) -> BtfSource:
        return cls(lambda: Btf.from_bytes(data, what))

    @classmethod
    def from_id(cls, btf_id: int) -> BtfSource:
        return cls(lambda: Btf.from_id(btf_id))

    def btf(self) -> Btf:
        """The parsed BTF; raises :class:`BtfError` (every time) when it cannot be had."""
        with self._lock:
            if self._load is not None:
                load, self._load = self._load, None
                try:
                    self._btf = load()
                except BtfError as exc:  # e.g. no CAP_SYS_ADMIN for a kernel BTF object
                    self._error = exc
            if self._btf is None:
                assert self._error is not None
                raise self._error
            return self._btf


class _Pending:
    """One map's unresolved BTF types (shared by its key and value placeholders)."""

    def __init__(self, m: Map, source: BtfSource, ids: tuple[int, int],
                 fallback: dict[str, Codec]) -> None:
        self._map = weakref.ref(m)
        self._source = source
        self._ids = ids
        self._fallback = fallback  # the by-size codec of each role that waits
        self._lock = threading.Lock()

    def resolve(self, role: str) -> Codec:
        """Put the BTF codecs on the map (once) and return the one for ``role``."""
        m = self._map()
        with self._lock:
            if m is None:  # the map is gone; only a stray reference asked
                return self._fallback[role]
            if isinstance(getattr(m, f"_{role}"), PendingCodec):
                pending = {name: codec for name, codec in self._fallback.items()
                           if isinstance(getattr(m, f"_{name}"), PendingCodec)}
                try:
                    m._use_btf(self._source.btf(), *self._ids, defaults=pending)
                except BtfError as exc:
                    log.debug("%s: keys and values stay by size: %s", m.what, exc)
                for name, codec in pending.items():  # no Python form: the by-size default
                    if isinstance(getattr(m, f"_{name}"), PendingCodec):
                        m._set_codec(name, codec)
            return getattr(m, f"_{role}")  # type: ignore[no-any-return]


class PendingCodec:
    """Stands in for a map's key or value codec until its BTF codec is built."""

    __slots__ = ("_pending", "_role")

    def __init__(self, pending: _Pending, role: str) -> None:
        self._pending = pending
        self._role = role

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pending.resolve(self._role), name)


def defer_btf(m: Map, source: BtfSource, key_type_id: int, value_type_id: int) -> None:
    """Remember where ``m``'s BTF is (for ``typed("struct name")``) and give ``m``
    placeholders that build its BTF codecs on first use (a role whose codec is not the by-size
    default keeps it, as :meth:`Map._use_btf` would)."""
    m._btf_source = source
    fallback: dict[str, Codec] = {
        role: getattr(m, f"_{role}")
        for role, type_id in (("key", key_type_id), ("value", value_type_id))
        if type_id and getattr(m, f"_{role}").by_size
    }
    if not fallback:  # nothing to wait for (no BTF types, or types chosen already)
        return
    pending = _Pending(m, source, (key_type_id, value_type_id), fallback)
    for role in fallback:
        m._set_codec(role, PendingCodec(pending, role))  # type: ignore[arg-type]
