"""The fast path of ``m[k]`` and ``m[k] = v`` for maps of unsigned int keys and values.

A map whose key and value are unsigned ints of 1, 2, 4 or 8 bytes (``__u32 -> __u64``
counters, arrays of counters) passes them to C as integers (``csrc/map_scalar.c``): one
cffi call, no key or value buffer.  The two functions :func:`scalar_ops` returns do only the
plain case and return ``None`` / ``False`` for anything else (a missing key, a key that is not
an int or does not fit, a closed map, any error); the caller then takes its generic path,
which raises the error that path always raises.
"""

from __future__ import annotations

from collections.abc import Callable

from ._lib import ffi, lib
from .fd import OwnedFd

ScalarGet = Callable[[object, int], "int | None"]
ScalarSet = Callable[[object, object, int], bool]


def scalar_ops(owned: OwnedFd, key_size: int, value_size: int) -> tuple[ScalarGet, ScalarSet]:
    """``(get, put)`` for the map behind ``owned``: ``get(key, flags)`` is the value or None,
    ``put(key, value, flags)`` is True once stored.  A closed ``owned`` holds -1, which the
    kernel refuses (EBADF), so both fall back and the caller reports the closed map."""
    lookup, update = lib.bpf4py_lookup_scalar, lib.bpf4py_update_scalar

    def get(key: object, flags: int) -> int | None:
        try:
            value: int = lookup(owned._fd, key, key_size, value_size, flags)
        except (TypeError, OverflowError):  # not an int, or negative / wider than 64 bits
            return None
        if value or not ffi.errno:
            return value
        return None

    def put(key: object, value: object, flags: int) -> bool:
        try:
            return not update(owned._fd, key, key_size, value, value_size, flags)
        except (TypeError, OverflowError):
            return False

    return get, put
