"""The producer side of one ``BPF_MAP_TYPE_USER_RINGBUF`` map: libbpf's
``struct user_ring_buffer`` (the ring mapped into this process)."""

from __future__ import annotations

import errno as E
import threading
from typing import Any

from bpf4py.errors import ClosedError, MapError

from ._lib import ffi, lib, memory_of
from .check import error, fail_errno

_HINTS = {
    E.ENOSPC: "the ring is full until a BPF program drains it (bpf_user_ringbuf_drain)",
    E.E2BIG: "the sample is larger than the ring",
}


class Sample:
    """Room for one sample in the ring: ``view`` is writable until it is submitted or
    discarded (then released).  The view keeps the ring mapped: writing through it (or a
    slice kept past its block) after the producer closed cannot touch unmapped memory."""

    __slots__ = ("_ptr", "view")

    def __init__(self, ptr: Any, size: int, ring: Any) -> None:
        self._ptr = ptr
        self.view = memory_of(ptr, size, ring)

    def _take(self, doing: str, what: str) -> Any:
        ptr, self._ptr = self._ptr, None
        if ptr is None:
            raise MapError(f"{doing} a sample of {what}: it was already submitted or discarded")
        try:
            self.view.release()
        except BufferError:  # something still exports the view: the ring memory stays mapped
            pass
        return ptr


class UserRingBufferProducer:
    """Reserves, submits and discards samples; reserving is serialised by a lock (libbpf's
    reserve is not thread-safe), submit and discard need none.  Reserving never waits: a
    writer waiting for room waits without the lock, so :meth:`close` (which takes it) is not
    kept waiting behind it.

    Example::

        producer = UserRingBufferProducer(map_fd, "map 'REQUESTS'")
        sample = producer.reserve(8)
        sample.view[:] = b"12345678"
        producer.submit(sample)
        producer.close()
    """

    def __init__(self, map_fd: int, what: str) -> None:
        ptr = lib.user_ring_buffer__new(map_fd, ffi.NULL)
        if ptr == ffi.NULL:
            fail_errno(MapError, f"mapping the user ring buffer {what} into memory")
        self.what = what
        self._ptr: Any = ffi.gc(ptr, lib.user_ring_buffer__free)
        self._lock = threading.Lock()

    def _live(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise ClosedError(f"the producer of {self.what} is closed")
        return ptr

    def reserve(self, size: int) -> Sample:
        """Room for ``size`` bytes; MapError (ENOSPC) at once when the ring is full.

        libbpf's user_ring_buffer__reserve_blocking is not used: the lock would be held
        through its whole wait, and close() from another thread kept waiting behind it."""
        with self._lock:
            ptr = self._live()
            sample = lib.user_ring_buffer__reserve(ptr, size)
            if sample != ffi.NULL:
                return Sample(sample, size, ptr)
            code = ffi.errno or E.EINVAL
        raise error(MapError, f"reserving {size} bytes in {self.what}", code, _HINTS.get(code))

    def submit(self, sample: Sample) -> None:
        """Hand the sample to the kernel (BPF programs see it at their next drain)."""
        lib.user_ring_buffer__submit(self._live(), sample._take("submitting", self.what))

    def discard(self, sample: Sample) -> None:
        """Give the room back unread."""
        lib.user_ring_buffer__discard(self._live(), sample._take("discarding", self.what))

    def close(self) -> None:
        """Stop producing; idempotent.  The ring is unmapped now, or when the last sample view
        still held lets go of it (libbpf frees it with the last reference)."""
        with self._lock:
            self._ptr = None
