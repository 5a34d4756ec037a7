"""The fast path of ``m[k]`` and ``m[k] = v`` for maps of unsigned int keys and values.

A map whose key and value are unsigned ints of 1, 2, 4 or 8 bytes (``__u32 -> __u64``
counters, arrays of counters) passes them to C as integers (``csrc/map_scalar.c``): one
cffi call, no key or value buffer.  The map calls :data:`lookup` and :data:`update` itself,
so ``m[k]`` runs one Python frame.  They do only the plain case: a key or value that is not an
int (TypeError) or is negative or wider than 64 bits (OverflowError), a missing key, a closed
map (its descriptor reads -1, EBADF) or any other failure is the caller's cue to take its
generic path, which raises the error that path always raises.

Example (what ``HashMap.__getitem__`` does)::

    value = lookup(fd, key, shape(4, 8))
    if not value and failed():
        ...  # the generic path: KeyNotFound, ClosedError, ...
"""

from __future__ import annotations

from collections.abc import Callable

from ._lib import ffi, lib

#: Key and value sizes the fast path takes.
SIZES = (1, 2, 4, 8)

#: ``lookup(fd, key, shape) -> int``: the value, or 0 with errno set (see :func:`failed`).
lookup: Callable[[int, object, int], int] = lib.bpf4py_lookup_scalar
#: ``update(fd, key, value, shape) -> int``: 0 once stored (BPF_ANY), else a negative errno.
update: Callable[[int, object, object, int], int] = lib.bpf4py_update_scalar


def shape(key_size: int, value_size: int) -> int:
    """The ``shape`` argument of :data:`lookup` and :data:`update` for these sizes."""
    return key_size | value_size << 8


def failed() -> bool:
    """Whether the :data:`lookup` that just returned 0 failed (else the value is 0)."""
    code: int = ffi.errno
    return code != 0
