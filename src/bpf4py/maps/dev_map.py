"""Device maps: DevMap and DevMapHash, the targets of ``bpf_redirect_map`` to interfaces."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .._native.xdp import interface_index
from ..errors import MapError
from ..types import MapType
from .base import KeyValueMap
from .object_array import ObjectArray
from .xdp_entries import XdpEntryMap

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


class _DeviceEntries(XdpEntryMap):
    FIRST: ClassVar[str] = "interface"
    SECTION: ClassVar[str] = "xdp/devmap"
    VALUE_STRUCT: ClassVar[str] = "struct bpf_devmap_val (Linux 5.8)"

    def _first(self, value: object) -> int:
        if isinstance(value, str):
            return interface_index(value, MapError, f"setting an entry of {self.what}")
        return super()._first(value)


class DevMap(_DeviceEntries, ObjectArray):
    """An array of network interfaces (``BPF_MAP_TYPE_DEVMAP``), indexed
    ``0 .. max_entries-1``: an XDP program calling ``bpf_redirect_map(&map, index, 0)`` sends
    the frame out of the interface at ``index``.

    An entry is an interface (its name or index, resolved in this process's network
    namespace) and, for maps with 8-byte values (``struct bpf_devmap_val``, Linux 5.8), an
    optional XDP program loaded for devmap entries (section ``xdp/devmap``) that runs on each
    frame before it leaves.  :meth:`get` returns ``(ifindex, program id or None)``;
    :meth:`indices` lists the indices holding an interface.  Emptying an empty index is not an
    error (the kernel does not report it).

    Minimum kernel version: 4.14 (entry programs: 5.8).

    Example::

        from bpf4py import Ebpf
        from bpf4py.maps.dev_map import DevMap

        ebpf = Ebpf.load_file("redirect.bpf.o")
        ports = ebpf.map("PORTS", DevMap)
        ports.set(0, "eth1")                         # bpf_redirect_map(&PORTS, 0, 0) -> eth1
        rewrite = ebpf.program("rewrite_mac")        # SEC("xdp/devmap")
        rewrite.load()
        ports.set(1, "eth2", rewrite)
        print(ports.get(1))                          # (ifindex of eth2, id of rewrite_mac)
        ports.clear_index(0)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.DEVMAP,)
    MIN_KERNEL: ClassVar[str] = "4.14"
    ENTRY: ClassVar[str] = "interface"

    def set(  # type: ignore[override]
        self,
        index: int,
        interface: str | int,
        program: FileDescriptorLike | None = None,
        flags: int = 0,
    ) -> None:
        """Send frames redirected to ``index`` out of ``interface`` (through ``program``)."""
        self.insert(index, interface, program, flags)


class DevMapHash(_DeviceEntries, KeyValueMap):
    """Network interfaces by key (``BPF_MAP_TYPE_DEVMAP_HASH``), for sparse keys such as
    interface indexes: ``bpf_redirect_map(&map, key, 0)`` sends the frame out of the interface
    stored at ``key``.  Entries are as in :class:`DevMap`; the dict protocol works
    (``m[key] = "eth1"``, ``m[key]`` -> ``(ifindex, program id or None)``, ``del m[key]``).

    Minimum kernel version: 5.4 (entry programs: 5.8).

    Example::

        from bpf4py.maps.dev_map import DevMapHash

        egress = ebpf.map("EGRESS", DevMapHash)
        egress.insert(7, "eth1")
        assert egress.get(7)[1] is None and list(egress.keys()) == [7]
        egress.remove(7)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.DEVMAP_HASH,)
    MIN_KERNEL: ClassVar[str] = "5.4"
