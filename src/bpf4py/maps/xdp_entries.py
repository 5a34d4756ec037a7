"""The entries of DevMap, DevMapHash and CpuMap: a u32 and, optionally, an XDP program.

The kernel's values are ``struct bpf_devmap_val {u32 ifindex; union {int fd; u32 id}
bpf_prog;}`` and ``struct bpf_cpumap_val {u32 qsize; union {int fd; u32 id} bpf_prog;}``.  A
map declared with 4-byte values holds the u32 only; with 8-byte values an entry can also carry
a program, loaded for these entries (section ``xdp/devmap`` or ``xdp/cpumap``), that runs on
every frame redirected to the entry.  User space writes the program's descriptor and reads back
its id.
"""

from __future__ import annotations

import errno as E
import sys
from typing import TYPE_CHECKING, Any, ClassVar

from .._native.fd import raw_fd
from ..errors import MapError
from .base import KeyValueMap

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


class XdpEntryMap(KeyValueMap):
    """Values are ``(u32, program)`` on the way in and ``(u32, program id or None)`` on the
    way out; a bare u32 stands for ``(u32, None)``."""

    #: The name of the u32, for messages.
    FIRST: ClassVar[str] = ""
    #: The section of the programs entries can carry, and the C type of a value with one.
    SECTION: ClassVar[str] = ""
    VALUE_STRUCT: ClassVar[str] = ""

    def _first(self, value: object) -> int:
        """The u32 of an entry (DevMap also resolves interface names)."""
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
            raise TypeError(f"{self.what}: the {self.FIRST} must be an int from 0 to 2**32-1, "
                            f"got {value!r}")
        return value

    def _encode_value(self, value: object) -> bytes:
        if isinstance(value, tuple) and len(value) != 2:
            raise TypeError(f"{self.what}: an entry is ({self.FIRST}, program), got {value!r}")
        first, program = value if isinstance(value, tuple) else (value, None)
        fd = 0
        if program is not None:
            if self.value_size < 8:
                raise MapError(
                    f"{self.what}: its values are {self.value_size} bytes, too small for a "
                    "program", hint=f"declare the value as {self.VALUE_STRUCT}")
            fd = raw_fd(program, f"setting the program of an entry of {self.what}")
        data = self._first(first).to_bytes(4, sys.byteorder) + fd.to_bytes(4, sys.byteorder)
        return data[:self.value_size]

    def _decode_value(self, data: bytes) -> tuple[int, int | None]:
        program_id = int.from_bytes(data[4:8], sys.byteorder) if len(data) >= 8 else 0
        return int.from_bytes(data[:4], sys.byteorder), program_id or None

    def get(self, key: object, flags: int = 0) -> tuple[int, int | None]:
        """The entry at ``key``: its u32 and the id of its program (None without one).

        Raises :class:`~bpf4py.errors.KeyNotFound` when the entry is empty."""
        entry: tuple[int, int | None] = super().get(key, flags)
        return entry

    def insert(  # type: ignore[override]
        self,
        key: object,
        target: Any,
        program: FileDescriptorLike | None = None,
        flags: int = 0,
    ) -> None:
        """Store ``target`` (and ``program``, a loaded Xdp program or its descriptor) at
        ``key``.  ``flags``: 0 (BPF_ANY), 1 (BPF_NOEXIST), 2 (BPF_EXIST)."""
        try:
            super().insert(key, target if program is None else (target, program), flags)
        except MapError as exc:
            # A program of the wrong kind: EINVAL from devmaps, ENOMEM from cpumaps.
            if exc.errno in (E.EINVAL, E.ENOMEM) and program is not None:
                exc.hint = (f"the program must be an XDP program loaded for these entries "
                            f"(section {self.SECTION!r}), and the {self.FIRST} valid")
            raise
