"""ReusePortSockArray: the sockets an SK_REUSEPORT program picks from."""

from __future__ import annotations

import errno as E
from collections.abc import Iterator
from typing import ClassVar

from .._native.check import ENOTSUPP
from ..errors import MapError
from ..types import MapType
from .object_array import ObjectArray
from .sock import _SocketMap

_HINTS = {
    E.EINVAL: "the socket must be bound (or listening) with SO_REUSEPORT set",
    E.EBUSY: "the socket is already in a REUSEPORT_SOCKARRAY",
    ENOTSUPP: "entries are TCP or UDP sockets over IPv4 or IPv6",
}


class ReusePortSockArray(_SocketMap, ObjectArray):
    """An array of sockets of one ``SO_REUSEPORT`` group (``BPF_MAP_TYPE_REUSEPORT_SOCKARRAY``):
    an :class:`~bpf4py.programs.sk_reuseport.SkReuseport` program calling
    ``bpf_sk_select_reuseport(reuse, &map, &index, 0)`` hands the packet or connection to the
    socket at ``index``.

    Entries go in as sockets (a socket object, anything with ``fileno()``, or a descriptor),
    bound with ``SO_REUSEPORT``; every socket of the map must belong to the same group.  For
    maps with 8-byte values the kernel reports each socket's cookie (``SO_COOKIE``): :meth:`get`,
    :meth:`indices`; with 4-byte values those raise :class:`~bpf4py.errors.MapError`.

    Minimum kernel version: 4.19.

    Example::

        import socket
        from bpf4py.maps.reuseport import ReusePortSockArray

        workers = ebpf.map("WORKERS", ReusePortSockArray)
        for index in range(4):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", 5353))
            workers.set(index, sock)
        print(list(workers.indices()))      # [0, 1, 2, 3]
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.REUSEPORT_SOCKARRAY,)
    MIN_KERNEL: ClassVar[str] = "4.19"
    ENTRY: ClassVar[str] = "socket"

    def _raw_items(self, values: bool = True) -> Iterator[tuple[bytes, bytes]]:
        if values:
            self._require_cookies("listing the sockets of")
        return super()._raw_items(values)

    def insert(self, key: object, socket: object, flags: int = 0) -> None:
        try:
            super().insert(key, socket, flags)
        except MapError as exc:
            exc.hint = _HINTS.get(exc.errno or 0, exc.hint)
            raise
