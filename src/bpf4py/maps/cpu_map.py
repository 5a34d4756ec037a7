"""CpuMap: the target of ``bpf_redirect_map`` to other CPUs."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..types import MapType
from .object_array import ObjectArray
from .xdp_entries import XdpEntryMap

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


class CpuMap(XdpEntryMap, ObjectArray):
    """One entry per CPU (``BPF_MAP_TYPE_CPUMAP``): an XDP program calling
    ``bpf_redirect_map(&map, cpu, 0)`` queues the frame for that CPU, whose kernel thread
    builds the socket buffer and hands it to the network stack.

    An entry is the queue size (frames waiting for that CPU) and, for maps with 8-byte values
    (``struct bpf_cpumap_val``, Linux 5.9), an optional XDP program loaded for cpumap entries
    (section ``xdp/cpumap``) that runs on that CPU first.  :meth:`get` returns
    ``(queue size, program id or None)``; :meth:`indices` lists the CPUs with an entry.
    ``max_entries`` is at most the number of possible CPUs.  Emptying an empty index is not an
    error.

    Minimum kernel version: 4.15 (entry programs: 5.9).

    Example::

        from bpf4py.maps.cpu_map import CpuMap

        cpus = ebpf.map("CPUS", CpuMap)
        cpus.set(1, queue_size=2048)       # bpf_redirect_map(&CPUS, 1, 0) -> CPU 1
        assert cpus.get(1) == (2048, None)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.CPUMAP,)
    MIN_KERNEL: ClassVar[str] = "4.15"
    FIRST: ClassVar[str] = "queue size"
    SECTION: ClassVar[str] = "xdp/cpumap"
    VALUE_STRUCT: ClassVar[str] = "struct bpf_cpumap_val (Linux 5.9)"
    ENTRY: ClassVar[str] = "queue"

    def set(  # type: ignore[override]
        self,
        cpu: int,
        queue_size: int,
        program: FileDescriptorLike | None = None,
        flags: int = 0,
    ) -> None:
        """Queue up to ``queue_size`` (>= 1) frames redirected to ``cpu`` (through
        ``program``)."""
        self.insert(cpu, queue_size, program, flags)

    def _first(self, value: object) -> int:
        if value == 0:  # the kernel would empty the entry
            raise ValueError(f"{self.what}: the queue size must be at least 1 (clear_index "
                             "empties an entry)")
        return super()._first(value)
