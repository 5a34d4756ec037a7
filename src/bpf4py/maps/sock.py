"""Socket maps: SockMap and SockHash, the maps SK_SKB and SK_MSG programs attach to.

Both store sockets.  On the way in a value is a socket (a ``socket.socket``, anything with
``fileno()``, or an int descriptor); the kernel keeps a reference to the socket itself, not
to the descriptor.  On the way out (lookups from user space) the kernel reports the socket's
*cookie*, the 64-bit id ``getsockopt(SOL_SOCKET, SO_COOKIE)`` returns -- and only for maps
declared with 8-byte values (Linux 5.7); with 4-byte values it refuses every lookup, so
``get``/``items``/``indices`` raise :class:`~bpf4py.errors.MapError` before the syscall.

Programs attached to a socket map run on a socket from the moment the socket is added:
the kernel copies the map's programs into the socket when it is inserted.  Detaching a program
from the map does not change sockets already in it; remove and re-add them (or add new ones).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any, ClassVar

from .._native.fd import raw_fd
from ..errors import KeyNotFound, MapError
from ..types import MapType
from .base import ArrayMap, KeyValueMap

_SOCKET_HINT = ("socket maps take established or listening TCP sockets (and, on newer "
                "kernels, UDP, unix and vsock sockets); connect() the socket first")


class _SocketMap(KeyValueMap):
    """What SockMap and SockHash share: sockets in, socket cookies out."""

    def _encode_value(self, value: object) -> bytes:
        return self._value.encode(raw_fd(value, f"adding a socket to {self.what}"))

    def _require_cookies(self, doing: str) -> None:
        if self.value_size != 8:
            raise MapError(
                f"{doing} {self.what}: the kernel reports sockets to user space (as socket "
                f"cookies) only for maps with 8-byte values; this map's values are "
                f"{self.value_size} bytes",
                hint="declare the map's value as __u64 (Linux 5.7+)",
            )

    def insert(self, key: object, socket: object, flags: int = 0) -> None:
        """Add ``socket`` at ``key``.  ``flags``: 0 (BPF_ANY), 1 (BPF_NOEXIST), 2 (BPF_EXIST).

        A closed socket raises :class:`~bpf4py.errors.ClosedError`; a socket the kernel
        cannot hold (an unconnected TCP socket) raises MapError with ``EOPNOTSUPP``.
        """
        try:
            super().insert(key, socket, flags)
        except MapError as exc:
            if exc.errno != errno.EOPNOTSUPP:
                raise
            raise MapError(f"adding a socket to {self.what} at key {key!r}", errno=exc.errno,
                           hint=_SOCKET_HINT) from None

    def get(self, key: object, flags: int = 0) -> int:
        """The cookie of the socket at ``key`` (the ``SO_COOKIE`` of that socket); raises
        :class:`~bpf4py.errors.KeyNotFound` when there is none.  Needs 8-byte values."""
        self._require_cookies("looking up a socket in")
        value: int = super().get(key, flags)
        return value

    def items(self) -> Iterator[tuple[Any, int]]:
        """``(key, socket cookie)`` for every key holding a socket.  Needs 8-byte values."""
        self._require_cookies("listing the sockets of")
        return super().items()


class SockMap(_SocketMap, ArrayMap):
    """An array of sockets (``BPF_MAP_TYPE_SOCKMAP``), indexed ``0 .. max_entries-1``.

    SK_SKB and SK_MSG programs attach to it; BPF programs redirect data to its sockets with
    ``bpf_sk_redirect_map``/``bpf_msg_redirect_map``.  Like an :class:`~bpf4py.maps.Array`,
    ``len()``, ``in`` and iteration cover every index; :meth:`indices` lists those holding a
    socket.  An index past ``max_entries`` raises :class:`~bpf4py.errors.IndexOutOfBounds`
    before any syscall.

    Minimum kernel version: 4.14 (lookups returning socket cookies: 5.7).

    Example::

        import socket
        from bpf4py import Ebpf
        from bpf4py.maps.sock import SockMap

        ebpf = Ebpf.load_file("proxy.bpf.o")
        sockets = ebpf.map("SOCKETS", SockMap)
        client = socket.create_connection(("127.0.0.1", 8080))
        sockets.set(0, client)
        print(list(sockets.indices()))     # [0] (needs 8-byte values)
        sockets.clear_index(0)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.SOCKMAP,)
    MIN_KERNEL: ClassVar[str] = "4.14"

    def set(self, index: int, socket: object, flags: int = 0) -> None:
        """Put ``socket`` at ``index`` (replacing the socket there with flags 0)."""
        self.insert(index, socket, flags)

    def clear_index(self, index: int) -> None:
        """Remove the socket at ``index``; raises :class:`~bpf4py.errors.KeyNotFound` when the
        index holds no socket (the kernel answers ``EINVAL`` then)."""
        try:
            KeyValueMap.remove(self, index)
        except MapError as exc:
            if exc.errno != errno.EINVAL:
                raise
            raise KeyNotFound(f"{self.what}: index {index} holds no socket",
                              errno=exc.errno) from None

    def remove(self, key: object) -> None:
        """Same as :meth:`clear_index` (also ``del m[index]``)."""
        if not isinstance(key, int):
            raise TypeError(f"{self.what}: an index must be an int, got {type(key).__name__}")
        self.clear_index(key)

    def indices(self) -> Iterator[int]:
        """The indices that hold a socket, in order.  Needs 8-byte values."""
        return (index for index, _ in self.items())


class SockHash(_SocketMap):
    """A hash of sockets (``BPF_MAP_TYPE_SOCKHASH``) with keys of any fixed size, and the
    dict protocol: ``h[key] = sock``, ``h[key]`` (the socket's cookie), ``del h[key]``,
    ``key in h``, ``len(h)``, iteration over keys.

    SK_SKB and SK_MSG programs attach to it; BPF programs redirect data to its sockets with
    ``bpf_sk_redirect_hash``/``bpf_msg_redirect_hash``.

    Minimum kernel version: 4.18 (lookups returning socket cookies: 5.7).

    Example (aya's SkMsg scenario: sockets keyed by port)::

        import socket
        from bpf4py import Ebpf
        from bpf4py.maps.sock import SockHash

        ebpf = Ebpf.load_file("intercept.bpf.o")
        intercept = ebpf.map("INTERCEPT_EGRESS", SockHash)
        client = socket.create_connection(("127.0.0.1", 1234))
        intercept.insert(client.getsockname()[1], client)
        cookie = intercept.get(client.getsockname()[1])   # == SO_COOKIE of client
        intercept.remove(client.getsockname()[1])
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.SOCKHASH,)
    MIN_KERNEL: ClassVar[str] = "4.18"

    def __contains__(self, key: object) -> bool:
        self._require_cookies("looking up a socket in")
        return super().__contains__(key)
