"""UserRingBuf: records user space sends to BPF programs (``BPF_MAP_TYPE_USER_RINGBUF``)."""

from __future__ import annotations

import errno
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from .._native.user_ringbuf import Sample, UserRingBufferProducer
from ..errors import MapError
from ..types import MapType
from ._reader import check_timeout
from .base import Map

#: A wait for room is cut into slices this long (seconds): after each slice the writer tries
#: again whether or not it was woken (a program may drain with ``BPF_RB_NO_WAKEUP``), so
#: :meth:`UserRingBuf.close` from another thread, or Ctrl-C that another thread received,
#: ends the wait within one slice.
WAIT_SLICE = 0.1
_MAX_SAMPLE = (1 << 32) - 1


class UserRingBuf(Map):
    """A ring buffer that user space writes and BPF programs drain, in order, with
    ``bpf_user_ringbuf_drain(&map, callback, ctx, 0)`` (one callback call per sample, with a
    ``bpf_dynptr`` over it).

    :meth:`submit` copies a ``bytes``-like sample in; :meth:`reserve` hands out room in the
    ring itself as a writable ``memoryview`` that is submitted when the ``with`` block ends (and
    discarded if it raises).  ``timeout`` says how long to wait for room when the ring is full:
    0 (the default) not at all, None without limit, else that many seconds; a ring that stays
    full raises MapError (ENOSPC).  The ring is mapped into memory at the first write and
    unmapped by :meth:`close`.  Writing from several threads is safe.  :meth:`close` from
    another thread returns at once; a write waiting for room then raises ClosedError within
    0.1 s.

    Minimum kernel version: 6.1.

    Example::

        from bpf4py import Ebpf
        from bpf4py.maps.user_ring_buf import UserRingBuf

        ebpf = Ebpf.load_file("requests.bpf.o")
        requests = ebpf.map("REQUESTS", UserRingBuf)
        requests.submit(b"\\x01\\x00\\x00\\x00")
        with requests.reserve(8) as buf:       # written in place, submitted at the end
            buf[:] = (42).to_bytes(8, "little")
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.USER_RINGBUF,)
    MIN_KERNEL: ClassVar[str] = "6.1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._producer: UserRingBufferProducer | None = None
        self._producer_lock = threading.Lock()  # one producer per map, even under threads

    def submit(self, data: bytes | bytearray | memoryview, *, timeout: float | None = 0) -> None:
        """Send one sample: a copy of ``data`` (1 byte or more)."""
        view = memoryview(data).cast("B")
        with self.reserve(len(view), timeout=timeout) as buf:
            buf[:] = view

    @contextmanager
    def reserve(self, size: int, *, timeout: float | None = 0) -> Iterator[memoryview]:
        """Room for a sample of ``size`` bytes, as a writable memoryview of the ring memory;
        submitted when the block ends, discarded when it raises.  The view (and any slice of
        it) must not be used after the block.

        Example::

            with ring.reserve(16) as buf:
                buf[:16] = payload
        """
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"reserving in {self.what}: size must be an int, got "
                            f"{type(size).__name__}")
        if not 1 <= size <= _MAX_SAMPLE:
            raise ValueError(f"reserving in {self.what}: size must be 1 .. {_MAX_SAMPLE}, "
                             f"got {size}")
        check_timeout(timeout, f"reserving in {self.what}")
        producer = self._producer_()
        sample = self._reserve(producer, size, timeout)
        try:
            yield sample.view
        except BaseException:
            producer.discard(sample)
            raise
        producer.submit(sample)

    def close(self) -> None:
        """Unmap the ring and close the map's descriptor; idempotent."""
        with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close()
        super().close()

    def _producer_(self) -> UserRingBufferProducer:
        with self._producer_lock:
            producer = self._producer
            if producer is None:
                producer = self._producer = UserRingBufferProducer(self.fd, self.what)
            return producer

    def _reserve(self, producer: UserRingBufferProducer, size: int,
                 timeout: float | None) -> Sample:
        """Room for ``size`` bytes, waiting up to ``timeout`` seconds for a program to drain
        the ring.  The wait holds no lock (each try takes the producer's for the reservation
        only), so close() from another thread is never kept waiting by it, and the next try
        raises ClosedError."""
        deadline = None if timeout is None else time.monotonic() + timeout
        drains: select.epoll | None = None
        try:
            while True:
                try:
                    return producer.reserve(size)
                except MapError as exc:
                    if exc.errno != errno.ENOSPC or timeout == 0:
                        raise
                    if deadline is not None and time.monotonic() >= deadline:
                        exc.hint = (f"the ring stayed full for {timeout} s: no BPF program "
                                    "drained it")
                        raise
                if drains is None:
                    drains = self._drain_events()
                wait = WAIT_SLICE if deadline is None else deadline - time.monotonic()
                drains.poll(min(max(wait, 0.0), WAIT_SLICE))
        finally:
            if drains is not None:
                drains.close()

    def _drain_events(self) -> select.epoll:
        """An epoll reporting each wake-up of the map's descriptor (a program drained samples).
        Edge-triggered: the level -- the ring is not full -- stays set while the room is too
        small for the sample, and would make the wait spin."""
        fd = self.fd  # ClosedError once closed
        drains = select.epoll()
        drains.register(fd, select.EPOLLOUT | select.EPOLLET)
        return drains
