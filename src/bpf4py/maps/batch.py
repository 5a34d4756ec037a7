"""Batch operations (Linux 5.6): many entries per bpf(2) call, for :class:`KeyValueMap`.

``items()``, ``keys()``, ``values()``, ``update()``, ``clear()`` and ``pop_items()`` of every
key/value map go through here.  Not every map type has batch operations (hash maps and arrays
do; LPM tries, socket maps and kernels before 5.6 do not); the first ``ENOTSUPP`` (or
``EINVAL``, what kernels without the commands answer) for a map type is remembered in
:data:`SUPPORTED` and the map falls back to one call per key, with the same results.

Example::

    counts.update({1: 10, 2: 20, 3: 30})   # one syscall
    print(dict(counts.items()))            # 256 entries per syscall
    counts.clear()
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._native import bpf as _bpf
from .._native.check import ENOTSUPP
from ..errors import MapError

if TYPE_CHECKING:
    from .base import KeyValueMap

#: (map type, operation) -> whether the running kernel has it; missing means "not tried yet".
#: Operations: "lookup", "lookup_and_delete", "update".  Safe to clear at any time.
SUPPORTED: dict[tuple[int, str], bool] = {}

#: Entries asked for per lookup call (doubled when a hash bucket does not fit).
CHUNK = 1024


class Unsupported(Exception):
    """The kernel has no such batch operation for the map's type: use the per-key path."""


def _unsupported(map_type: int, op: str, exc: MapError, remember: bool = True) -> Unsupported:
    if remember:
        SUPPORTED[(map_type, op)] = False
    return Unsupported(f"{op} batches of map type {map_type}: {exc}")


def lookup_chunks(m: KeyValueMap, delete: bool = False) -> Iterator[tuple[bytearray, bytearray, int]]:
    """``(keys, values, n)`` for every batch of ``m``: the first ``n`` keys and values packed
    in buffers that are reused (copy what you keep before the next batch); :data:`CHUNK`
    entries per syscall.  With ``delete`` each entry is deleted as it is read.

    Raises :class:`Unsupported` (before yielding anything) when the kernel cannot.
    """
    op = "lookup_and_delete" if delete else "lookup"
    if not SUPPORTED.get((m.map_type, op), True):
        raise Unsupported(f"{op} batches of map type {m.map_type}")
    key_size, value_len = m.key_size, m._buf_size
    count = max(1, min(CHUNK, m.max_entries))
    keys, values = bytearray(key_size * count), bytearray(value_len * count)
    position: bytes | None = None
    started = False
    while True:
        try:
            n, position = _bpf.map_lookup_batch(m.fd, position, keys, values, count, delete,
                                                m.what)
        except MapError as exc:
            if not started and exc.errno in (ENOTSUPP, errno.EINVAL):
                raise _unsupported(m.map_type, op, exc) from exc
            if exc.errno != errno.ENOSPC or count >= m.max_entries:
                raise
            count = min(2 * count, m.max_entries)
            keys, values = bytearray(key_size * count), bytearray(value_len * count)
            continue
        if not started:
            SUPPORTED[(m.map_type, op)] = started = True
        yield keys, values, n
        if position is None:
            return


def lookup(m: KeyValueMap, delete: bool = False) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of ``m`` as raw bytes (see :func:`lookup_chunks`)."""
    key_size, value_len = m.key_size, m._buf_size
    for keys, values, n in lookup_chunks(m, delete):
        for i in range(n):
            yield (bytes(keys[i * key_size:(i + 1) * key_size]),
                   bytes(values[i * value_len:(i + 1) * value_len]))


def update(m: KeyValueMap, keys: bytes, values: bytes, count: int) -> None:
    """Store ``count`` encoded entries in one syscall; raises :class:`Unsupported` when the
    kernel cannot (``EINVAL`` is not remembered: the kernel also answers it for a value it
    refuses, which the per-key path then reports with its key)."""
    if not SUPPORTED.get((m.map_type, "update"), True):
        raise Unsupported(f"update batches of map type {m.map_type}")
    try:
        _bpf.map_update_batch(m.fd, keys, values, count, m.what)
    except MapError as exc:
        if exc.errno not in (ENOTSUPP, errno.EINVAL):
            raise
        raise _unsupported(m.map_type, "update", exc, remember=exc.errno == ENOTSUPP) from exc
    SUPPORTED[(m.map_type, "update")] = True
