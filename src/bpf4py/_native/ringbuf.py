"""A consumer of one ``BPF_MAP_TYPE_RINGBUF`` map: libbpf's ``struct ring_buffer`` plus the C
collector of csrc/ringbuf.c, which hands over each batch of records through
:class:`~bpf4py._native.batch.BatchReader`."""

from __future__ import annotations

from bpf4py.errors import MapError

from ._lib import ffi, lib
from .batch import MAX_BATCH, BatchReader
from .check import fail_errno

__all__ = ["MAX_BATCH", "RingBufferConsumer"]


class RingBufferConsumer(BatchReader):
    """Reads records from a ring buffer map without waiting; thread-safe.

    Example::

        consumer = RingBufferConsumer(map_fd, "map 'EVENTS'")
        records = consumer.drain(MAX_BATCH)     # [b'...', b'...']
        consumer.close()
    """

    def __init__(self, map_fd: int, what: str) -> None:
        ptr = lib.bpf4py_ringbuf_new(map_fd)
        if ptr == ffi.NULL:
            fail_errno(MapError, f"mapping the ring buffer of {what} into memory")
        super().__init__(ptr, lib.bpf4py_ringbuf_free, lib.bpf4py_ringbuf_drain, what)
