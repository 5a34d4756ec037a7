"""PerfEventArray: records sent by eBPF programs through a ``BPF_MAP_TYPE_PERF_EVENT_ARRAY``
map, read from one perf ring buffer per CPU."""

from __future__ import annotations

import mmap
from typing import ClassVar, TypeVar

from .._native.perf_buffer import PerfBufferReader
from ..errors import ClosedError, MapError
from ..types import MapType
from ._reader import RecordReader

P = TypeVar("P", bound="PerfEventArray")

#: Pages per CPU ring by default: 256 KiB with 4 KiB pages.
PAGE_COUNT = 64

#: Samples per wake-up by default (see :meth:`PerfEventArray.open`).
WAKEUP_EVENTS = 64


_MAX_RING = 1 << 32  # bytes of one CPU's perf ring

class PerfEventArray(RecordReader):
    """A perf event array that eBPF programs write records to with
    ``bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, &record, size)``; each CPU writes
    to its own ring buffer and user space reads them all.

    :meth:`open` creates the rings (``page_count`` pages per online CPU) and puts them in the
    map; the kernel drops records written before that.  Then read exactly as from a
    :class:`~bpf4py.maps.ring_buf.RingBuf`: :meth:`poll` (a list, or a ``callback`` per
    record), :meth:`consume`, iteration, ``await read()``, ``async for``, records typed with
    :meth:`typed`; :meth:`fileno` is readable when a ring reached its wake-up threshold.
    Records of one CPU come in the order they were written; records of different CPUs are not
    ordered with respect to each other (put a ``bpf_ktime_get_ns()`` in them for that).  The
    kernel pads each record with zero bytes to a size of 4 modulo 8 (a 16-byte record arrives
    as 20 bytes); typed records ignore the padding.

    Wake-ups: by default a waiting reader is woken once per :data:`WAKEUP_EVENTS` (64)
    records written on a CPU since its last wake-up, and whenever a ring is half full -- not
    per record, as the kernel's default would: a wake-up costs the writing program ~6 us
    (measured with test_run: ~6-7 us a record with a wake-up per record, ~0.35 us with the
    default, ~0.27 us with none).  Records below the threshold are late by 0.1 s at most: a
    waiting :meth:`poll`/:meth:`read` looks for them every 0.1 s and when its timeout ends.
    ``open(wakeup_events=1)`` wakes the reader for every record (lowest latency);
    ``open(wakeup_bytes=n)`` each time ``n`` bytes were written.

    A full ring drops records; :meth:`lost` counts them per CPU.

    Minimum kernel version: 4.4 (the map type exists since 4.3, ``bpf_perf_event_output``
    and its perf events since 4.4).

    Example::

        import ctypes
        from bpf4py import Ebpf
        from bpf4py.maps.perf_event_array import PerfEventArray

        class Event(ctypes.Structure):
            _fields_ = [("pid", ctypes.c_uint32), ("len", ctypes.c_uint32)]

        with Ebpf.load_file("events.bpf.o") as ebpf:
            events = ebpf.map("EVENTS", PerfEventArray).open().typed(Event)
            ...
            for event in events.poll(timeout=1.0):
                print(event.pid, event.len)
            print(events.lost())
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.PERF_EVENT_ARRAY,)
    MIN_KERNEL: ClassVar[str] = "4.4"

    def open(
        self: P,
        page_count: int = PAGE_COUNT,
        *,
        wakeup_events: int | None = None,
        wakeup_bytes: int | None = None,
    ) -> P:
        """Create a ring of ``page_count`` pages (a power of two) on every online CPU below the
        map's ``max_entries`` and put it in the map; returns ``self``.

        A waiting reader is woken each ``wakeup_events`` records (default
        :data:`WAKEUP_EVENTS`) written on a CPU, or, with ``wakeup_bytes`` instead, each time
        that many bytes were written -- and whenever a ring is half full.  The rings stay
        until :meth:`close`.  Another reader opening the same map takes its slots; when the
        older reader closes, it empties them (libbpf's perf_buffer__free).

        Example: ``events = ebpf.map("EVENTS", PerfEventArray).open(256, wakeup_events=1)``.
        """
        if self._reader is not None:
            raise MapError(f"the perf buffers of {self.what} are already open")
        most = _MAX_RING // mmap.PAGESIZE  # more would wrap the mapping's size around
        if not isinstance(page_count, int) or not 1 <= page_count <= most \
                or page_count & (page_count - 1):
            raise ValueError(f"opening {self.what}: page_count must be a power of two up to "
                             f"{most} (4 GiB a CPU), got {page_count!r}")
        ring = page_count * mmap.PAGESIZE
        if wakeup_events is not None and wakeup_bytes is not None:
            raise ValueError(f"opening {self.what}: give wakeup_events or wakeup_bytes, not both")
        if wakeup_events is None:
            wakeup_events = WAKEUP_EVENTS
        if not 1 <= wakeup_events < 1 << 32:
            raise ValueError(f"opening {self.what}: wakeup_events must be 1 .. 2**32-1, got "
                             f"{wakeup_events}")
        if wakeup_bytes is not None and not 1 <= wakeup_bytes <= ring:
            raise ValueError(f"opening {self.what}: wakeup_bytes must be 1 .. {ring} (the "
                             f"size of a ring of {page_count} pages), got {wakeup_bytes}")
        self._reader = PerfBufferReader(self.fd, self.what, page_count, wakeup_events,
                                        wakeup_bytes or 0)
        return self

    def lost(self) -> dict[int, int]:
        """Records dropped because a ring was full, per CPU, since :meth:`open`; only CPUs
        that dropped some.  The kernel reports a loss with the next record that fits into
        the ring, so a loss is known once that record was read.

        Example: ``if events.lost(): log.warning("dropped %s", events.lost())``.
        """
        return self._perf_reader().lost()

    def fileno(self) -> int:
        """A descriptor that is readable when a ring reached its wake-up threshold (not the
        map's descriptor: that is :attr:`fd`).  Records below the threshold do not make it
        readable: call :meth:`consume` now and then (every 0.1 s bounds their latency)."""
        return self._perf_reader().fileno()

    # --- RecordReader ---------------------------------------------------------------------------

    def _open_reader(self) -> PerfBufferReader:
        return self._perf_reader()

    def _wait_fd(self) -> int:
        return self.fileno()

    def _perf_reader(self) -> PerfBufferReader:
        reader = self._reader
        if isinstance(reader, PerfBufferReader):
            return reader
        if self.closed:
            raise ClosedError(f"{self.what} is closed")
        raise MapError(f"the perf buffers of {self.what} are not open: call open() before the "
                       "programs write (records written before are dropped by the kernel)")
