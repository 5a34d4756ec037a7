"""Local storage maps: a value attached to a kernel object (a socket, an inode, a task, a
cgroup) that lives and dies with that object.

BPF programs reach the value from the object (``bpf_sk_storage_get(&map, sk, ...)``); user
space names the object by an open file descriptor of it, which the kernel resolves:

* :class:`SkStorage` -- a socket (``socket.socket``, anything with ``fileno()``, an int fd);
* :class:`InodeStorage` -- a file: an open file, an fd, or a path (opened for the call);
* :class:`TaskStorage` -- a task: a pidfd (``os.pidfd_open(pid)``);
* :class:`CgrpStorage` -- a cgroup v2 directory: an open fd of it, or its path.

``get``/``insert``/``remove``, ``m[obj]``, ``m[obj] = v``, ``del m[obj]`` and ``obj in m``
work as on a dict.  The kernel cannot list the objects that have a value, so iteration,
``len()``, ``keys()``/``items()``/``values()``, ``clear()`` and ``pop_items()`` raise
:class:`~bpf4py.errors.MapError`.  Local storage maps need BTF for their key and value and the
``BPF_F_NO_PREALLOC`` flag, so they come from a BPF object, not from :meth:`create`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, NoReturn

from .._native.fd import OwnedFd, raw_fd
from ..errors import KeyNotFound, MapError, with_builtin
from ..types import MapType
from .base import KeyValueMap


class _LocalStorage(KeyValueMap):
    """What every local storage map shares: keys are kernel objects named by descriptors."""

    #: What a key is, for messages.
    KEY_KIND: ClassVar[str] = "object"
    #: Whether a str/PathLike key is opened (with these ``os.open`` flags) for the call.
    PATH_FLAGS: ClassVar[int | None] = None

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Not possible: local storage maps need BTF for key and value; declare the map in a
        BPF object (``__uint(map_flags, BPF_F_NO_PREALLOC)``)."""
        raise MapError(f"{cls.__name__} maps need BTF for their key and value and cannot be "
                       "created standalone; declare the map in a BPF object")

    @contextmanager
    def _key_fd(self, key: object, doing: str) -> Iterator[int]:
        """The descriptor naming ``key``: a path is opened for the duration of the call."""
        if isinstance(key, (str, os.PathLike)) and self.PATH_FLAGS is not None:
            path = os.fspath(key)
            try:
                fd = OwnedFd(os.open(path, self.PATH_FLAGS | os.O_CLOEXEC), path)
            except OSError as exc:
                raise with_builtin(MapError, exc.errno)(
                    f"{doing} {self.what}: opening {path}", errno=exc.errno) from None
            with fd:
                yield fd.fd
        else:
            yield raw_fd(key, f"{doing} {self.what}: a key must be a {self.KEY_KIND}")

    def get(self, key: object, flags: int = 0) -> Any:
        """The value stored for ``key``; raises :class:`~bpf4py.errors.KeyNotFound` when the
        object has none.  ``flags``: 4 (BPF_F_LOCK) reads a value with a ``bpf_spin_lock``
        under the lock."""
        with self._key_fd(key, "looking up") as fd:
            try:
                return super().get(fd, flags)
            except KeyNotFound:
                raise self._no_value(key) from None

    def insert(self, key: object, value: object, flags: int = 0) -> None:
        """Store ``value`` for ``key``, creating its storage.  ``flags``: 0 (BPF_ANY), 1
        (BPF_NOEXIST), 2 (BPF_EXIST), 4 (BPF_F_LOCK)."""
        with self._key_fd(key, "updating") as fd:
            super().insert(fd, value, flags)

    def remove(self, key: object) -> None:
        """Delete the value of ``key``; raises :class:`~bpf4py.errors.KeyNotFound` when the
        object has none."""
        with self._key_fd(key, "deleting from") as fd:
            try:
                super().remove(fd)
            except KeyNotFound:
                raise self._no_value(key) from None

    def __contains__(self, key: object) -> bool:
        with self._key_fd(key, "looking up") as fd:
            return super().__contains__(fd)

    def update(self, entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> None:
        """Store every ``object: value`` pair (one call per object: no batches for these maps)."""
        for key, value in (entries.items() if isinstance(entries, Mapping) else entries):
            self.insert(key, value)

    def _no_value(self, key: object) -> KeyNotFound:
        return KeyNotFound(f"{self.what} has no value for {self.KEY_KIND} {key!r}",
                           errno=errno.ENOENT)

    def _unlistable(self) -> MapError:
        return MapError(f"{self.what}: the kernel cannot list the {self.KEY_KIND}s that have a "
                        f"value in a {type(self).__name__} map; look values up by "
                        f"{self.KEY_KIND}")

    def _raw_keys(self) -> Iterator[bytes]:
        raise self._unlistable()

    def _raw_items(self, values: bool = True) -> Iterator[tuple[bytes, bytes]]:
        raise self._unlistable()


class SkStorage(_LocalStorage):
    """A value per socket (``BPF_MAP_TYPE_SK_STORAGE``); keys are sockets (``socket.socket``,
    anything with ``fileno()``, an int descriptor).

    Minimum kernel version: 5.2.

    Example::

        import socket
        from bpf4py import Ebpf
        from bpf4py.maps.storage import SkStorage

        ebpf = Ebpf.load_file("sockets.bpf.o")
        stats = ebpf.map("SOCKET_STATS", SkStorage)
        sock = socket.create_connection(("127.0.0.1", 8080))
        sock.send(b"hello")
        print(stats[sock])           # what the BPF program stored for this socket
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.SK_STORAGE,)
    MIN_KERNEL: ClassVar[str] = "5.2"
    KEY_KIND: ClassVar[str] = "socket"


class InodeStorage(_LocalStorage):
    """A value per inode (``BPF_MAP_TYPE_INODE_STORAGE``, written by LSM programs); keys are
    files: an open file, an int descriptor, or a path (opened read-only for the call).  Every
    descriptor of the same file names the same value.

    Minimum kernel version: 5.10.

    Example::

        from bpf4py import Ebpf
        from bpf4py.maps.storage import InodeStorage

        ebpf = Ebpf.load_file("lsm.bpf.o")
        opens = ebpf.map("OPEN_COUNTS", InodeStorage)
        print(opens["/etc/passwd"])
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.INODE_STORAGE,)
    MIN_KERNEL: ClassVar[str] = "5.10"
    KEY_KIND: ClassVar[str] = "file"
    PATH_FLAGS: ClassVar[int | None] = os.O_RDONLY


class TaskStorage(_LocalStorage):
    """A value per task (``BPF_MAP_TYPE_TASK_STORAGE``); keys are pidfds
    (``os.pidfd_open(pid)``, an int descriptor or anything with ``fileno()``).  A pidfd names
    the task of that pid (for a process: its main thread).

    Minimum kernel version: 5.11.

    Example::

        import os
        from bpf4py import Ebpf
        from bpf4py.maps.storage import TaskStorage

        ebpf = Ebpf.load_file("tasks.bpf.o")
        syscalls = ebpf.map("SYSCALLS", TaskStorage)
        pidfd = os.pidfd_open(os.getpid())
        print(syscalls[pidfd])
        os.close(pidfd)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.TASK_STORAGE,)
    MIN_KERNEL: ClassVar[str] = "5.11"
    KEY_KIND: ClassVar[str] = "pidfd"


class CgrpStorage(_LocalStorage):
    """A value per cgroup v2 (``BPF_MAP_TYPE_CGRP_STORAGE``); keys are cgroup directories: an
    open descriptor of one, or its path (opened for the call).

    Minimum kernel version: 6.2.

    Example::

        from bpf4py import Ebpf
        from bpf4py.maps.storage import CgrpStorage

        ebpf = Ebpf.load_file("cgroups.bpf.o")
        usage = ebpf.map("CGROUP_USAGE", CgrpStorage)
        print(usage["/sys/fs/cgroup/unified/app"])
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.CGRP_STORAGE,)
    MIN_KERNEL: ClassVar[str] = "6.2"
    KEY_KIND: ClassVar[str] = "cgroup"
    PATH_FLAGS: ClassVar[int | None] = os.O_RDONLY | os.O_DIRECTORY
