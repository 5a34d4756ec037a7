"""A minimal AF_XDP socket for the XskMap tests: a UMEM, a fill ring, a completion ring and an
RX ring, bound to one queue of an interface in copy mode (``XDP_COPY``).

Python's socket module cannot bind an AF_XDP socket (it does not know ``sockaddr_xdp``), so
``bind(2)`` goes through ctypes; everything else is ``setsockopt``/``getsockopt`` and ``mmap``.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import socket
import struct
import time
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

AF_XDP = 44
SOL_XDP = 283
XDP_MMAP_OFFSETS, XDP_RX_RING, XDP_UMEM_REG, XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING = (
    1, 2, 4, 5, 6)
XDP_COPY = 1 << 1
XDP_PGOFF_RX_RING = 0
XDP_UMEM_PGOFF_FILL_RING = 0x100000000
FRAME_SIZE = 4096
FRAMES = 64
RING_SIZE = 64  # a power of two
_XDP_DESC = struct.Struct("=QII")  # struct xdp_desc {u64 addr; u32 len; u32 options}


class _Ring:
    """A single-producer/single-consumer ring mapped from the socket."""

    def __init__(self, sock: socket.socket, offsets: tuple[int, int, int, int], pgoff: int,
                 entry_size: int) -> None:
        producer, consumer, desc, _ = offsets
        self.map = mmap.mmap(sock.fileno(), desc + RING_SIZE * entry_size, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE, offset=pgoff)
        self.producer_at, self.consumer_at, self.desc_at = producer, consumer, desc
        self.entry_size = entry_size

    def _u32(self, at: int) -> int:
        value: int = struct.unpack_from("=I", self.map, at)[0]
        return value

    @property
    def producer(self) -> int:
        return self._u32(self.producer_at)

    @producer.setter
    def producer(self, value: int) -> None:
        struct.pack_into("=I", self.map, self.producer_at, value & 0xFFFFFFFF)

    @property
    def consumer(self) -> int:
        return self._u32(self.consumer_at)

    @consumer.setter
    def consumer(self, value: int) -> None:
        struct.pack_into("=I", self.map, self.consumer_at, value & 0xFFFFFFFF)

    def entry_offset(self, index: int) -> int:
        return self.desc_at + (index % RING_SIZE) * self.entry_size


class XdpSocket:
    """An AF_XDP socket bound to ``queue`` of ``interface`` (in this network namespace).

    ``fileno()`` makes it usable as an XskMap entry; :meth:`receive` returns the frames the
    kernel put in the RX ring.
    """

    def __init__(self, interface: str, queue: int = 0) -> None:
        self.sock = socket.socket(AF_XDP, socket.SOCK_RAW, 0)
        try:
            self.umem = mmap.mmap(-1, FRAMES * FRAME_SIZE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            view = ctypes.c_char.from_buffer(self.umem)
            address = ctypes.addressof(view)
            del view  # an exported buffer would keep the mmap from closing
            self.sock.setsockopt(SOL_XDP, XDP_UMEM_REG, struct.pack(
                "=QQIIII", address, FRAMES * FRAME_SIZE, FRAME_SIZE, 0, 0, 0))
            for option in (XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING):
                self.sock.setsockopt(SOL_XDP, option, RING_SIZE)
            raw = self.sock.getsockopt(SOL_XDP, XDP_MMAP_OFFSETS, 128)
            rx, _tx, fill, _completion = (struct.unpack_from("=4Q", raw, 32 * i)
                                          for i in range(4))
            self.rx = _Ring(self.sock, rx, XDP_PGOFF_RX_RING, _XDP_DESC.size)
            self.fill = _Ring(self.sock, fill, XDP_UMEM_PGOFF_FILL_RING, 8)
            # Hand every frame of the UMEM to the kernel for receiving.
            for i in range(RING_SIZE):
                struct.pack_into("=Q", self.fill.map, self.fill.entry_offset(i), i * FRAME_SIZE)
            self.fill.producer = RING_SIZE
            self._bind(socket.if_nametoindex(interface), queue)
        except BaseException:
            self.close()
            raise

    def _bind(self, ifindex: int, queue: int) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        addr = struct.pack("=HHIII", AF_XDP, XDP_COPY, ifindex, queue, 0)
        if libc.bind(self.sock.fileno(), addr, len(addr)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"binding an AF_XDP socket: {os.strerror(code)}")

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self, timeout: float = 2.0) -> list[bytes]:
        """The frames that arrive within ``timeout`` (returns as soon as there are some)."""
        deadline = time.monotonic() + timeout
        while self.rx.producer == self.rx.consumer and time.monotonic() < deadline:
            time.sleep(0.01)
        frames = []
        consumer, producer = self.rx.consumer, self.rx.producer
        for index in range(consumer, producer):
            addr, length, _ = _XDP_DESC.unpack_from(self.rx.map, self.rx.entry_offset(index))
            frames.append(bytes(self.umem[addr:addr + length]))
        self.rx.consumer = producer
        return frames

    def close(self) -> None:
        self.sock.close()
        for ring in ("rx", "fill"):
            if hasattr(self, ring):
                getattr(self, ring).map.close()
        if hasattr(self, "umem"):
            self.umem.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
