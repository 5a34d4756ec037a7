"""Arena: pages of memory shared by eBPF programs and user space (``BPF_MAP_TYPE_ARENA``)."""

from __future__ import annotations

import ctypes
import mmap
from typing import TYPE_CHECKING, ClassVar

from ..errors import MapError
from ..types import MapType
from .base import Map

if TYPE_CHECKING:
    from .._native.object import BpfObject

#: ``BPF_F_MMAPABLE``: every arena has it.
F_MMAPABLE = 1 << 10


class Arena(Map):
    """An arena: up to 4 GiB of pages that programs allocate from (``bpf_arena_alloc_pages``)
    and use through ``__arena`` pointers, and that user space maps into its memory.

    :attr:`memory` maps the whole arena into this process at first use and is a writable
    ``memoryview`` of it; a page user space touches first is allocated then (zeroed).  Close
    the arena (or leave the ``with`` block) to unmap it: release every view taken from
    :attr:`memory` before that, or :meth:`close` raises :class:`MapError`.

    The kernel puts an arena at one address in user space, chosen by its first mapping, and
    every later mapping must be at that address, which Python's ``mmap`` cannot ask for.  So an
    arena is mapped by one handle of one process: one created here (:meth:`create`), one
    opened by pin or id and not mapped yet, or the arena of an object, which libbpf maps
    when it creates the object's maps (before any program loads: the verifier needs the
    address).  An object's arena stays mapped while a view of :attr:`memory` is alive, even
    after the object and the map are closed.

    Programs reach an arena through ``__arena`` pointers (clang 18 or later), or, with an
    older clang, by casting an address themselves with the ``addr_space_cast`` instruction.

    Minimum kernel version: 6.9.

    Example::

        with Arena.create(pages=16, name="shared") as arena:
            mem = arena.memory
            mem[:5] = b"hello"
            assert bytes(mem[:5]) == b"hello" and len(mem) == 16 * mmap.PAGESIZE
            del mem
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.ARENA,)
    MIN_KERNEL: ClassVar[str] = "6.9"

    _mmap: mmap.mmap | None = None
    _view: memoryview | None = None

    @classmethod
    def create(  # type: ignore[override]  # an arena has pages, no keys or values
        cls, pages: int, *, name: str = "", flags: int = 0
    ) -> Arena:
        """Create an arena of ``pages`` pages (``max_entries``); ``flags`` are added to
        ``BPF_F_MMAPABLE`` (e.g. ``BPF_F_SEGV_ON_FAULT``, ``1 << 17``)."""
        if isinstance(pages, bool) or not isinstance(pages, int) or pages <= 0:
            raise ValueError(f"an arena needs a positive number of pages, got {pages!r}")
        flags |= F_MMAPABLE
        fd = cls._create_fd(MapType.ARENA, name, 0, 0, pages, flags)
        return cls(fd, name or "(anonymous)", MapType.ARENA, 0, 0, pages, flags)

    @property
    def size(self) -> int:
        """The arena's size in bytes."""
        return self.max_entries * mmap.PAGESIZE

    @property
    def memory(self) -> memoryview:
        """The arena's pages as one writable memoryview, mapped at the first use."""
        if self._view is None:
            doing = f"mapping {self.what} into memory"
            try:
                self._mmap = mmap.mmap(self.fd, self.size, flags=mmap.MAP_SHARED,
                                       prot=mmap.PROT_READ | mmap.PROT_WRITE)
            except OSError as exc:
                raise MapError(f"{doing}: {exc.strerror} (an arena maps once, at one address; "
                               "was it mapped by libbpf or another handle?)",
                               errno=exc.errno) from None
            self._view = memoryview(self._mmap)
        return self._view

    @property
    def address(self) -> int:
        """Where :attr:`memory` starts in this process: the arena's user-space address,
        which ``__arena`` pointers that programs store hold (``memory[p - arena.address]``)."""
        return ctypes.addressof(ctypes.c_char.from_buffer(self.memory))

    def _take_from_object(self, obj: BpfObject, name: str) -> None:
        super()._take_from_object(obj, name)
        self._view = obj.arena_memory(name)

    def close(self) -> None:
        """Unmap the arena and close its descriptor; idempotent.  (An object's arena is
        unmapped when its object is closed and the last view of it is gone.)"""
        mm = self._mmap
        if mm is None:
            self._view = None  # an object's arena: libbpf's mapping, freed with its last view
        else:
            try:
                if self._view is not None:
                    self._view.release()
                mm.close()
            except BufferError:
                self._view = memoryview(mm)  # still mapped, still usable
                raise MapError(f"closing {self.what}: views of its memory are still in use; "
                               "release them (del, or memoryview.release()) first") from None
            self._view = self._mmap = None
        super().close()
