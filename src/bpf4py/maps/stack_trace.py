"""StackTraceMap: the stacks BPF programs record with ``bpf_get_stackid``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import ClassVar, NamedTuple

from ..errors import MapError
from ..ksyms import KernelSymbols, kernel_symbols
from ..types import MapType
from .base import KeyValueMap

_STACK_BUILD_ID = 1 << 5  # BPF_F_STACK_BUILD_ID: frames are (build id, offset) records


class StackTrace(NamedTuple):
    """One recorded stack: its ``id`` (what ``bpf_get_stackid`` returned) and its ``frames``,
    instruction pointers from the innermost call outwards."""

    id: int
    frames: list[int]

    def symbolize(self, symbols: KernelSymbols | None = None) -> list[str]:
        """The frames as kernel function names (``"do_syscall_64+0x4f"``, module functions
        with ``" [module]"``), resolved with ``symbols`` (default: the cached
        :func:`~bpf4py.ksyms.kernel_symbols`); a frame no symbol covers (a user-space
        address) comes back as its hex address."""
        symbols = symbols if symbols is not None else kernel_symbols()
        names = []
        for ip in self.frames:
            sym = symbols.resolve(ip)
            names.append(str(sym) if sym is not None else f"{ip:#x}")
        return names


class StackTraceMap(KeyValueMap):
    """The stacks recorded by ``bpf_get_stackid(ctx, &map, flags)`` (``BPF_MAP_TYPE_STACK_TRACE``),
    keyed by stack id.  Values are arrays of ``value_size / 8`` instruction pointers.

    ``get(stack_id)`` (and ``m[stack_id]``) returns a :class:`StackTrace`; :meth:`stack_ids`
    and iteration list the ids, :meth:`items` gives ``(stack_id, StackTrace)``, ``remove`` /
    ``del m[stack_id]`` frees a slot.  Only BPF programs add stacks.

    Minimum kernel version: 4.6.

    Example::

        from bpf4py import Ebpf
        from bpf4py.maps.stack_trace import StackTraceMap

        ebpf = Ebpf.load_file("profile.bpf.o")
        stacks = ebpf.map("STACKS", StackTraceMap)
        ...
        for stack_id, trace in stacks.items():
            print(stack_id, " <- ".join(trace.symbolize()))
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.STACK_TRACE,)
    MIN_KERNEL: ClassVar[str] = "4.6"

    def _decode_value(self, data: bytes) -> list[int]:
        if self.flags & _STACK_BUILD_ID:
            raise MapError(f"{self.what} records build ids (BPF_F_STACK_BUILD_ID), not "
                           "instruction pointers; StackTraceMap reads instruction pointers")
        frames = []
        for i in range(0, len(data) - 7, 8):
            ip = int.from_bytes(data[i:i + 8], sys.byteorder)
            if not ip:  # the kernel zero-fills past the stack's depth
                break
            frames.append(ip)
        return frames

    def get(self, stack_id: object, flags: int = 0) -> StackTrace:
        """The stack recorded as ``stack_id``; raises :class:`~bpf4py.errors.KeyNotFound`
        when there is none."""
        frames: list[int] = super().get(stack_id, flags)
        return StackTrace(self._key.decode(self._encode_key(stack_id)), frames)

    def insert(self, key: object, value: object, flags: int = 0) -> None:
        """Not possible: only ``bpf_get_stackid`` in a BPF program stores stacks."""
        raise MapError(f"{self.what}: stack trace maps are filled by bpf_get_stackid in BPF "
                       "programs; user space can read and remove stacks only")

    def stack_ids(self) -> Iterator[int]:
        """The ids of the stored stacks (also what iterating the map gives)."""
        return self.keys()

    def items(self) -> Iterator[tuple[int, StackTrace]]:
        """``(stack_id, StackTrace)`` for every stored stack."""
        return ((k, StackTrace(k, frames)) for k, frames in super().items())

    def values(self) -> Iterator[StackTrace]:
        return (trace for _, trace in self.items())
