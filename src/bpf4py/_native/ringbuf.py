"""A consumer of one ``BPF_MAP_TYPE_RINGBUF`` map: libbpf's ``struct ring_buffer`` plus the C
collector in build_ffi.py that hands over each batch of records as one marshal stream.

libbpf calls its sample callback once per record; a Python callback per record would cost
several times the record itself.  The collector appends every record to one C buffer laid out
as the marshal form of a ``list`` of ``bytes`` ('[' + int32 count, then 's' + int32 length +
data per record), so a whole batch becomes a list of bytes in one ``marshal.loads`` call.
"""

from __future__ import annotations

import marshal
import threading
from typing import Any

from bpf4py.errors import ClosedError, MapError

from ._lib import ffi, lib
from .check import check, fail_errno

#: The most records one drain may return (the marshal count is a signed 32-bit int).
MAX_BATCH = (1 << 31) - 1

# Marshal's list ('[') and bytes ('s') codes have not changed since Python 3.0; a Python that
# changes them must fail here, loudly, rather than misread records.
if marshal.loads(b"[\x01\x00\x00\x00s\x02\x00\x00\x00ok") != [b"ok"]:  # pragma: no cover
    raise ImportError("bpf4py's ring buffer reader does not understand this Python's marshal "
                      "format; please report this with your Python version")


class RingBufferConsumer:
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
        self.what = what
        self._ptr: Any = ffi.gc(ptr, lib.bpf4py_ringbuf_free)
        self._lock = threading.Lock()

    def drain(self, max_records: int) -> list[bytes]:
        """Consume up to ``max_records`` records (1 .. MAX_BATCH) that are ready, oldest first.

        Records are consumed in the kernel as they are collected; if the process runs out of
        memory mid-batch, that batch is lost and MapError (ENOMEM) is raised.
        """
        with self._lock:
            ptr = self._ptr
            if ptr is None:
                raise ClosedError(f"the ring buffer reader of {self.what} is closed")
            count = check(lib.bpf4py_ringbuf_drain(ptr, max_records), MapError,
                          f"reading records from {self.what}")
            if not count:
                return []
            records: list[bytes] = marshal.loads(ffi.buffer(ptr.buf, ptr.len))
            return records

    def close(self) -> None:
        """Unmap the ring and free the batch buffer; idempotent."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            ffi.release(ptr)
