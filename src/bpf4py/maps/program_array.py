"""ProgramArray: the jump table of ``bpf_tail_call``."""

from __future__ import annotations

import errno as E
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from .._native import bpf as _bpf
from .._native.fd import raw_fd
from ..errors import IndexOutOfBounds, KeyNotFound, MapError
from ..types import MapType
from .base import Map

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


class ProgramArray(Map):
    """An array of program descriptors used as a jump table (``BPF_MAP_TYPE_PROG_ARRAY``).

    A program calling ``bpf_tail_call(ctx, &JUMP_TABLE, index)`` jumps to the program stored
    at ``index``; when the index is out of range or holds no program, the call returns and the
    caller goes on (the fall-through path).  Every program in the table must be of the caller's
    program type.

    Lifetime: the table holds the programs (they stay in the kernel after their own
    descriptors close), and the kernel empties it when the last user-space descriptor of the
    *map* closes.  A table that comes from an :class:`~bpf4py.Ebpf` therefore keeps working
    for as long as the ``Ebpf`` is open, whatever happens to the ``ProgramArray`` object and
    the target ``Program`` objects; a table from :meth:`from_pin`/:meth:`from_id` keeps its
    entries while pinned or while a handle is open.

    Minimum kernel version: 4.2.

    Example::

        table = ebpf.map("JUMP_TABLE", ProgramArray)
        for index, name in enumerate(["parse_ipv4", "parse_ipv6", "parse_arp"]):
            prog = ebpf.program(name)
            prog.load()
            table.set(index, prog)      # bpf_tail_call(ctx, &JUMP_TABLE, index) runs it
        assert sorted(table.indices()) == [0, 1, 2]
        table.clear_index(2)            # tail calls to 2 now fall through
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.PROG_ARRAY,)
    MIN_KERNEL: ClassVar[str] = "4.2"

    def _index_key(self, index: int) -> bytes:
        if not 0 <= index < self.max_entries:
            raise IndexOutOfBounds(f"{self.what}: index {index} is out of bounds (max_entries "
                                   f"{self.max_entries})")
        return self._key.encode(index)

    def set(self, index: int, program: FileDescriptorLike, flags: int = 0) -> None:
        """Make ``bpf_tail_call(ctx, table, index)`` jump to ``program``.

        ``program`` is a loaded :class:`~bpf4py.programs.Program` (an unloaded one raises
        :class:`~bpf4py.errors.NotLoadedError`), or a program descriptor (an int or anything
        with ``fileno()``).  Raises :class:`~bpf4py.errors.IndexOutOfBounds` for an index at
        or past ``max_entries``, before any syscall.
        """
        key = self._index_key(index)
        doing = f"setting index {index} of {self.what}"
        value = self._value.encode(raw_fd(program, doing))
        try:
            _bpf.map_update(self.fd, key, value, flags, f"{self.what} at index {index}")
        except MapError as exc:
            if exc.errno == E.EINVAL:
                exc.hint = ("the program must be of the same type as the programs that use "
                            "this table (and not offloaded or an extension)")
            elif exc.errno == E.EBADF:
                exc.hint = "the descriptor is not an open BPF program"
            raise

    def clear_index(self, index: int) -> None:
        """Empty ``index``: tail calls to it fall through from now on.

        Raises :class:`~bpf4py.errors.KeyNotFound` when the index holds no program.
        """
        if not _bpf.map_delete(self.fd, self._index_key(index), self.what):
            raise KeyNotFound(f"{self.what}: index {index} holds no program", errno=E.ENOENT)

    def indices(self) -> Iterator[int]:
        """The indices that hold a program, in increasing order."""
        fd, size, what = self.fd, self.key_size, self.what
        key = _bpf.map_next_key(fd, None, size, what)
        while key is not None:
            # A lookup from user space returns the program's id, ENOENT for an empty index.
            if _bpf.map_lookup(fd, key, self.value_size, 0, what) is not None:
                yield self._key.decode(key)
            key = _bpf.map_next_key(fd, key, size, what)
