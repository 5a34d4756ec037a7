"""XskMap: the AF_XDP sockets XDP programs redirect frames to."""

from __future__ import annotations

import errno as E
from typing import ClassVar

from ..errors import MapError
from ..types import MapType
from .object_array import ObjectArray


class XskMap(ObjectArray):
    """An array of AF_XDP sockets (``BPF_MAP_TYPE_XSKMAP``): an XDP program calling
    ``bpf_redirect_map(&map, ctx->rx_queue_index, XDP_PASS)`` hands the frame to the socket
    at that index, which must be bound to that interface and queue.

    Entries go in as sockets (a socket object, anything with ``fileno()``, or a descriptor)
    that have a UMEM and an RX ring and are bound.  The kernel reports nothing back to user
    space, so ``get``/``items``/``indices`` raise :class:`~bpf4py.errors.MapError`.
    Emptying an empty index is not an error.

    Minimum kernel version: 4.18.

    Example::

        from bpf4py.maps.xsk_map import XskMap

        sockets = ebpf.map("XSKS", XskMap)
        sockets.set(0, xsk)        # an AF_XDP socket bound to queue 0 of the interface
        sockets.clear_index(0)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.XSKMAP,)
    MIN_KERNEL: ClassVar[str] = "4.18"
    ENTRY: ClassVar[str] = "socket"
    WRITE_ONLY: ClassVar[bool] = True

    def insert(self, key: object, value: object, flags: int = 0) -> None:
        try:
            super().insert(key, value, flags)
        except MapError as exc:
            if exc.errno in (E.EOPNOTSUPP, E.ENOTSOCK):
                exc.hint = ("XSKMAP entries are AF_XDP sockets with a UMEM and an RX ring, "
                            "bound to an interface queue")
            raise
