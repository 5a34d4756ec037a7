"""Arrays: Array and PerCpuArray."""

from __future__ import annotations

from typing import ClassVar

from ..types import MapType
from .base import ArrayMap


class Array(ArrayMap):
    """A fixed-size array (``BPF_MAP_TYPE_ARRAY``) indexed ``0 .. max_entries-1``.

    Minimum kernel version: 3.19.  Unsigned int values take the same fast path as
    :class:`~bpf4py.maps.HashMap`'s.

    Example::

        totals: Array = ebpf.map("TOTALS")
        totals.set(0, 42)
        assert totals[0] == 42 and len(totals) == totals.max_entries
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.ARRAY,)
    _SCALAR_OPS: ClassVar[bool] = True
    MIN_KERNEL: ClassVar[str] = "3.19"


class PerCpuArray(Array):
    """An array with one value per possible CPU (Linux 4.6), read and written like
    :class:`~bpf4py.maps.PerCpuHashMap`'s values."""

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.PERCPU_ARRAY,)
    MIN_KERNEL: ClassVar[str] = "4.6"
    PER_CPU: ClassVar[bool] = True
