"""ObjectArray: what the array maps of kernel objects share (devices, CPUs, sockets, cgroups,
maps): ``set``, ``clear_index``, ``indices``.

On the way in an entry is the object (its descriptor, or what a subclass resolves to one); on
the way out the kernel reports an id (a socket cookie, a program or map id), or nothing at all
for some types (:attr:`ObjectArray.WRITE_ONLY`).
"""

from __future__ import annotations

import errno as E
from collections.abc import Iterator
from typing import Any, ClassVar

from .._native import bpf as _bpf
from .._native.fd import raw_fd
from ..errors import KeyNotFound, MapError
from .base import ArrayMap


class ObjectArray(ArrayMap):
    """An array whose entries refer to kernel objects and can be emptied.

    ``len()``, ``in`` and iteration cover every index, as for an
    :class:`~bpf4py.maps.Array`; :meth:`indices` lists the indices holding an object.  An
    index past ``max_entries`` raises :class:`~bpf4py.errors.IndexOutOfBounds` before any
    syscall.
    """

    #: What one entry holds, for messages ("socket").
    ENTRY: ClassVar[str] = "object"
    #: The kernel refuses every lookup from user space (ENOTSUPP) for this map type, so
    #: ``get``/``items``/``values``/``indices`` raise MapError before the syscall.
    WRITE_ONLY: ClassVar[bool] = False

    def _encode_value(self, value: object) -> bytes:
        return self._value.encode(raw_fd(value, f"setting an entry of {self.what}"))

    def _require_readable(self) -> None:
        if self.WRITE_ONLY:
            kind = getattr(self.map_type, "name", self.map_type)
            raise MapError(f"reading {self.what}: the kernel does not report the entries of "
                           f"{kind} maps to user space (only BPF programs read them)")

    def get(self, key: object, flags: int = 0) -> Any:
        self._require_readable()
        return super().get(key, flags)

    def _raw_items(self, values: bool = True) -> Iterator[tuple[bytes, bytes]]:
        if values:
            self._require_readable()
        return super()._raw_items(values)

    def clear_index(self, index: int) -> None:
        """Empty ``index``.  Raises :class:`~bpf4py.errors.KeyNotFound` when it holds nothing
        and the kernel says so (DEVMAP, CPUMAP and XSKMAP do not: emptying an empty index
        succeeds)."""
        if not _bpf.map_delete(self.fd, self._encode_key(index), self.what):
            raise KeyNotFound(f"{self.what}: index {index} holds no {self.ENTRY}",
                              errno=E.ENOENT)

    def remove(self, key: object) -> None:
        """Same as :meth:`clear_index` (also ``del m[index]``)."""
        if isinstance(key, bool) or not isinstance(key, int):
            raise TypeError(f"{self.what}: an index must be an int, got {type(key).__name__}")
        self.clear_index(key)

    def indices(self) -> Iterator[int]:
        """The indices that hold an object, in order."""
        decode = self._key.decode
        return (decode(key) for key, _ in self._raw_items())
