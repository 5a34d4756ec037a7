"""A reader of one ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` map: libbpf's ``struct perf_buffer`` (a
perf ring per CPU, each ``page_count`` pages) plus the C collector of csrc/perf_buffer.c,
which hands over each batch of samples through :class:`~bpf4py._native.batch.BatchReader`
and counts lost samples per CPU."""

from __future__ import annotations

import errno

from bpf4py.errors import MapError

from ._lib import ffi, lib
from .batch import BatchReader
from .check import error

_EPERM_HINT = ("perf_event_open(2) needs CAP_PERFMON (or root), and the rings' memory beyond "
               "kernel.perf_event_mlock_kb per CPU needs CAP_IPC_LOCK")


class PerfBufferReader(BatchReader):
    """Opens a perf ring on every online CPU (up to the map's ``max_entries``), puts their
    descriptors in the map, and reads samples from them without waiting; thread-safe.

    ``wakeup_bytes`` > 0 wakes a waiter each time that many bytes were written to a ring;
    otherwise every ``wakeup_events`` samples; the kernel also wakes it at half a ring.

    Example::

        reader = PerfBufferReader(map_fd, "map 'EVENTS'", 64, 1, 0)
        records = reader.drain(MAX_BATCH)     # [b'...', b'...'], CPU after CPU
        reader.lost()                         # {cpu: samples dropped}, CPUs with losses
        reader.close()
    """

    def __init__(self, map_fd: int, what: str, page_count: int, wakeup_events: int,
                 wakeup_bytes: int) -> None:
        ptr = lib.bpf4py_perfbuf_new(map_fd, page_count, wakeup_events, wakeup_bytes)
        if ptr == ffi.NULL:
            code = ffi.errno or errno.EINVAL
            raise error(MapError, f"opening the per-CPU perf buffers of {what}", code,
                        _EPERM_HINT if code == errno.EPERM else None)
        super().__init__(ptr, lib.bpf4py_perfbuf_free, lib.bpf4py_perfbuf_drain, what)
        self._epoll_fd: int = lib.perf_buffer__epoll_fd(ptr.pb)

    def fileno(self) -> int:
        """An epoll descriptor, readable when a ring reached its wake-up threshold."""
        self._live()
        return self._epoll_fd

    def lost(self) -> dict[int, int]:
        """Samples the kernel dropped because a ring was full, per CPU, since opening; only
        CPUs that lost some.  A loss is known once the kernel has written its notice, with
        the next sample that fits into the ring."""
        with self._lock:
            ptr = self._live()
            return {cpu: int(ptr.lost[cpu]) for cpu in range(ptr.ncpus) if ptr.lost[cpu]}
