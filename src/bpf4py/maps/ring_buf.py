"""RingBuf: records sent by eBPF programs through a ``BPF_MAP_TYPE_RINGBUF`` map."""

from __future__ import annotations

from typing import ClassVar

from .._native.ringbuf import RingBufferConsumer
from ..types import MapType
from ._reader import BATCH, RecordReader

__all__ = ["BATCH", "RingBuf"]


class RingBuf(RecordReader):
    """A ring buffer map that eBPF programs write records to (``bpf_ringbuf_output``, or
    ``bpf_ringbuf_reserve`` + ``bpf_ringbuf_submit``) and user space reads in order.

    Records are ``bytes`` unless :meth:`typed` names their type (a ctypes type, a struct
    format, a numpy dtype, a type of the object's BTF such as ``"struct event"``).  Reading:

    * :meth:`poll` waits (``timeout`` seconds; None: until records come) and returns every
      record available, or calls ``callback`` once per record;
    * :meth:`consume` does the same without waiting; iterating (``for r in ring``) yields the
      records available now, one at a time;
    * :meth:`poll_array` takes a batch as one numpy array of the record type's dtype;
    * ``await ring.read()`` and ``async for record in ring`` wait without blocking the event
      loop;
    * :meth:`fileno` is readable (``select``, ``epoll``) while records are waiting.

    Batches are collected in C and handed over as one list, so the Python cost is about one
    object per record.  No record is lost between calls: records taken from the kernel but not
    yet handed over (a callback raised, an iteration stopped early, decoding failed) are
    handed over first by the next call.  The ring is mapped into memory at the first read and
    unmapped by :meth:`close`.  Records written with ``BPF_RB_NO_WAKEUP`` wake no one; a
    waiting read still takes them within 0.1 s.  Read from one thread (or task) at a time;
    closing from another thread is safe.

    Minimum kernel version: 5.8.

    Example::

        import ctypes
        from bpf4py import Ebpf
        from bpf4py.maps.ring_buf import RingBuf

        class Event(ctypes.Structure):
            _fields_ = [("pid", ctypes.c_uint32), ("len", ctypes.c_uint32)]

        with Ebpf.load_file("events.bpf.o") as ebpf:
            events = ebpf.map("EVENTS", RingBuf).typed(Event)
            ...
            for event in events.poll(timeout=1.0):
                print(event.pid, event.len)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.RINGBUF,)
    MIN_KERNEL: ClassVar[str] = "5.8"

    def _open_reader(self) -> RingBufferConsumer:
        return RingBufferConsumer(self.fd, self.what)

    def _wait_fd(self) -> int:
        return self.fd
