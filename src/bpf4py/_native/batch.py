"""Readers whose records are collected in C as one batch (csrc/batch.c) and handed over as a
list of bytes with a single ``marshal.loads``.

libbpf calls a reader's callback once per record; a Python callback per record would cost
several times the record itself.  The C collector appends every record to one buffer laid out
as the marshal form of a ``list`` of ``bytes`` ('[' + int32 count, then 's' + int32 length +
data per record), so a whole batch becomes a list of bytes in one call.
"""

from __future__ import annotations

import marshal
import threading
from collections.abc import Callable
from typing import Any

from bpf4py.errors import ClosedError, MapError

from ._lib import ffi
from .check import check

#: The most records one drain may return (the marshal count is a signed 32-bit int).
MAX_BATCH = (1 << 31) - 1

# Marshal's list ('[') and bytes ('s') codes have not changed since Python 3.0; a Python that
# changes them must fail here, loudly, rather than misread records.
if marshal.loads(b"[\x01\x00\x00\x00s\x02\x00\x00\x00ok") != [b"ok"]:  # pragma: no cover
    raise ImportError("bpf4py's record readers do not understand this Python's marshal "
                      "format; please report this with your Python version")


class BatchReader:
    """A C reader (a cffi pointer to a struct with a ``batch`` member) freed by ``free``, whose
    ``drain(ptr, max_records)`` consumes records into the batch; thread-safe.

    Example (a subclass)::

        reader = PerfBufferReader(map_fd, "map 'EVENTS'", 64, 1, 0)
        records = reader.drain(MAX_BATCH)     # [b'...', b'...']
        reader.close()
    """

    def __init__(self, ptr: Any, free: Callable[[Any], None],
                 drain: Callable[[Any, int], int], what: str) -> None:
        self.what = what
        self._ptr: Any = ffi.gc(ptr, free)
        self._drain = drain
        self._lock = threading.Lock()

    def drain(self, max_records: int) -> list[bytes]:
        """Consume up to ``max_records`` records (1 .. MAX_BATCH) that are ready, oldest first.

        Records are consumed in the kernel as they are collected, and stay in the batch until
        they are handed over: a KeyboardInterrupt raised as the C call returns (Ctrl-C during
        a long drain) leaves them there, and the next drain returns them -- all of them, even
        beyond ``max_records`` -- before reading the kernel again.  If the process runs out
        of memory mid-batch, that batch is lost and MapError (ENOMEM) is raised.
        """
        with self._lock:
            ptr = self._live()
            batch = ptr.batch
            if not batch.count:  # else records an interrupted drain took and did not hand over
                ret = self._drain(ptr, max_records)
                if ret <= 0:
                    batch.count = 0  # a batch cut short (ENOMEM) is not a readable list
                    check(ret, MapError, f"reading records from {self.what}")
                    return []
            records: list[bytes] = marshal.loads(ffi.buffer(batch.buf, batch.len))
            batch.count = 0  # handed over
            return records

    def _live(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise ClosedError(f"the reader of {self.what} is closed")
        return ptr

    def close(self) -> None:
        """Free the C reader and its batch buffer; idempotent."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            ffi.release(ptr)
