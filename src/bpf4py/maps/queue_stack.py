"""Queue (FIFO) and Stack (LIFO): maps without keys, of values pushed and popped."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

from .._native import bpf as _bpf
from ..errors import KeyNotFound
from ..types import MapType
from .base import Map

T = TypeVar("T", bound="_KeylessStore")


class _KeylessStore(Map):
    """What Queue and Stack share; they differ only in which end :meth:`pop` takes from."""

    @classmethod
    def create(  # type: ignore[override]  # no key: these maps have key size 0
        cls: type[T],
        value: int | type[Any],
        max_entries: int,
        *,
        name: str = "",
        flags: int = 0,
    ) -> T:
        """Create a standalone map of ``max_entries`` values; ``value`` is a size in bytes or
        a ctypes type."""
        store: T = super().create(0, value, max_entries, name=name, flags=flags)
        return store

    def _empty(self) -> KeyNotFound:
        return KeyNotFound(f"{self.what}: the {type(self).__name__.lower()} is empty",
                           errno=errno.ENOENT)

    def push(self, value: object, flags: int = 0) -> None:
        """Add ``value``.  When the map is full this raises MapError (``E2BIG``), unless
        ``flags`` is 2 (``BPF_EXIST``): then the oldest value makes room."""
        _bpf.map_update(self.fd, None, self._value.encode(value), flags, self.what)

    def pop(self) -> Any:
        """Remove and return the next value; raises :class:`~bpf4py.errors.KeyNotFound` when
        the map is empty."""
        raw = _bpf.map_lookup_and_delete(self.fd, None, self.value_size, self.what)
        if raw is None:
            raise self._empty()
        return self._value.decode(raw)

    def peek(self) -> Any:
        """The value :meth:`pop` would return, left in place; raises
        :class:`~bpf4py.errors.KeyNotFound` when the map is empty."""
        raw = bytearray(self.value_size)
        if not _bpf.map_lookup_keyless(self.fd, raw, 0, "peeking at", self.what):
            raise self._empty()
        return self._value.decode(bytes(raw))

    def drain(self) -> Iterator[Any]:
        """Pop values until the map is empty (lazily: each value is popped when it is
        reached).  The kernel does not report a length; this is how to take everything."""
        while True:
            raw = _bpf.map_lookup_and_delete(self.fd, None, self.value_size, self.what)
            if raw is None:
                return
            yield self._value.decode(raw)


class Queue(_KeylessStore):
    """A first-in, first-out queue of values (``BPF_MAP_TYPE_QUEUE``).

    BPF programs push with ``bpf_map_push_elem`` and pop with ``bpf_map_pop_elem``; user space
    with :meth:`push`, :meth:`pop`, :meth:`peek` and :meth:`drain`.  An empty queue raises
    :class:`~bpf4py.errors.KeyNotFound` on :meth:`pop`, as aya's ``Queue::pop`` errs.

    Minimum kernel version: 4.20.

    Example::

        events: Queue = ebpf.map("EVENTS")
        events.push(7)
        for value in events.drain():   # oldest first
            print(value)
        jobs = Queue.create(ctypes.c_uint64, 128, name="jobs")
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.QUEUE,)
    MIN_KERNEL: ClassVar[str] = "4.20"


class Stack(_KeylessStore):
    """A last-in, first-out stack of values (``BPF_MAP_TYPE_STACK``), with the methods of
    :class:`Queue`; :meth:`pop` takes the newest value.

    Minimum kernel version: 4.20.

    Example::

        undo: Stack = Stack.create(4, 16)
        undo.push(1)
        undo.push(2)
        assert undo.pop() == 2 and undo.peek() == 1
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.STACK,)
    MIN_KERNEL: ClassVar[str] = "4.20"
