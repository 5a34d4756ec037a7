"""LpmTrie: longest-prefix-match tries keyed by IP networks (or any bit strings)."""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, TypeVar

from ..errors import InvalidKeySize, KeyNotFound
from ..types import MapType
from .base import KeyValueMap
from .codec import Codec

T = TypeVar("T", bound="LpmTrie")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NO_PREALLOC = 1  # BPF_F_NO_PREALLOC: LPM tries allocate nodes on demand and require it


class LpmKeyCodec(Codec):
    """``struct bpf_lpm_trie_key_u8 {u32 prefixlen; u8 data[]}`` <-> a network.

    Encodes an ``IPv4Network``/``IPv6Network`` or a ``(prefix_len, data_bytes)`` tuple (also
    raw bytes or a ctypes struct of the whole key); decodes to a network when the data is 4 or
    16 bytes, else to a ``(prefix_len, data_bytes)`` tuple.
    """

    def __init__(self, size: int, map_what: str) -> None:
        super().__init__(size, "key", map_what)
        self.data_size = size - 4

    def encode(self, obj: object) -> bytes:
        if isinstance(obj, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return self.pack(obj.prefixlen, obj.network_address.packed, str(obj))
        if isinstance(obj, tuple):
            if len(obj) != 2 or not isinstance(obj[0], int) or isinstance(obj[0], bool):
                raise TypeError(f"{self.map_what}: a key tuple is (prefix_len: int, data: "
                                f"bytes), got {obj!r}")
            return self.pack(obj[0], _as_bytes(obj[1], self.map_what), repr(obj))
        return super().encode(obj)

    def pack(self, prefix_len: int, data: bytes, shown: str) -> bytes:
        """The key bytes for ``prefix_len`` bits of ``data``, both checked against the map."""
        if len(data) != self.data_size:
            raise InvalidKeySize(
                f"{self.map_what}: key {shown} has {len(data)} bytes of data, the map's keys "
                f"have {self.data_size} (key size {self.size} = 4-byte prefix length + data)"
            )
        if not 0 <= prefix_len <= 8 * self.data_size:
            raise InvalidKeySize(
                f"{self.map_what}: key {shown} has prefix length {prefix_len}; the map's "
                f"{self.data_size}-byte data allows 0 to {8 * self.data_size}"
            )
        return prefix_len.to_bytes(4, "little") + data

    def decode(self, data: bytes) -> Network | tuple[int, bytes]:
        prefix_len, raw = int.from_bytes(data[:4], "little"), data[4:]
        if self.data_size == 4:
            return ipaddress.IPv4Network((raw, prefix_len), strict=False)
        if self.data_size == 16:
            return ipaddress.IPv6Network((raw, prefix_len), strict=False)
        return prefix_len, raw


def _as_bytes(data: object, map_what: str) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{map_what}: the data of a key must be bytes, got {type(data).__name__}")


class LpmTrie(KeyValueMap):
    """A longest-prefix-match trie (``BPF_MAP_TYPE_LPM_TRIE``): route tables, allow lists.

    Keys are ``struct {__u32 prefixlen; __u8 data[N];}`` with the data in network byte order.
    Give them as ``ipaddress.IPv4Network``/``IPv6Network`` (N = 4 or 16) or as
    ``(prefix_len, data_bytes)`` tuples; iteration gives networks back for N = 4 or 16, tuples
    otherwise.  A lookup (``get``, ``m[key]``, BPF's ``bpf_map_lookup_elem``) returns the
    value of the longest stored prefix that matches the key's first ``prefixlen`` bits;
    :meth:`longest_match` looks an address up with all its bits.

    Minimum kernel version: 4.11 (iteration: 4.16).

    Example::

        from ipaddress import ip_network
        routes: LpmTrie = ebpf.map("ROUTES")
        routes[ip_network("10.0.0.0/8")] = 1
        routes[ip_network("10.1.0.0/16")] = 2
        assert routes.longest_match("10.1.2.3") == 2
        assert routes.longest_match("10.9.9.9") == 1
        standalone = LpmTrie.create(4 + 16, 4, 1024)   # IPv6 prefixes -> u32
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.LPM_TRIE,)
    MIN_KERNEL: ClassVar[str] = "4.11"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("key_type") is None:
            self._set_codec("key", LpmKeyCodec(self.key_size, self.what))

    @classmethod
    def create(
        cls: type[T],
        key: int | type[Any],
        value: int | type[Any],
        max_entries: int,
        *,
        name: str = "",
        flags: int = 0,
    ) -> T:
        """Create a standalone trie; ``key`` is 4 + the data size in bytes (8 for IPv4, 20
        for IPv6).  ``BPF_F_NO_PREALLOC``, which the kernel requires, is added to ``flags``."""
        trie: T = super().create(key, value, max_entries, name=name, flags=flags | _NO_PREALLOC)
        return trie

    def longest_match(self, address: Address | str | bytes) -> Any:
        """The value of the longest prefix containing ``address`` (an ``ip_address``, its
        text, or raw data bytes); raises :class:`~bpf4py.errors.KeyNotFound` when none does."""
        data = address if isinstance(address, bytes) else ipaddress.ip_address(address).packed
        try:
            return self.get((8 * len(data), data))
        except KeyNotFound:
            shown = address.hex() if isinstance(address, bytes) else str(address)
            raise KeyNotFound(f"no prefix in {self.what} contains {shown}", errno=2) from None
