"""OwnedFd: the one type that owns a kernel file descriptor."""

from __future__ import annotations

import os
import threading
import traceback
import weakref

from bpf4py._closing import Closing
from bpf4py.errors import ClosedError

# Debug tracking of every open OwnedFd (with the stack that created it); see `open_fds()`.
_tracking = os.environ.get("BPF4PY_DEBUG_FDS", "") not in ("", "0")
_open: dict[int, tuple[str, str]] = {}
_open_lock = threading.Lock()


def _close_quietly(fd: int) -> None:
    with _open_lock:
        _open.pop(fd, None)
    try:
        os.close(fd)
    except OSError:
        pass


class OwnedFd(Closing):
    """A file descriptor with one owner.

    ``close()`` is idempotent; the object is a context manager; garbage collection closes the
    descriptor only as a safety net.  Using a closed OwnedFd raises :class:`ClosedError`
    naming what it was (``"map 'counts'"``).
    """

    __slots__ = ("_fd", "what", "_finalizer", "__weakref__")

    def __init__(self, fd: int, what: str) -> None:
        if fd < 0:
            raise ValueError(f"{what}: invalid file descriptor {fd}")
        self._fd = fd
        self.what = what
        self._finalizer = weakref.finalize(self, _close_quietly, fd)
        if _tracking:
            with _open_lock:
                _open[fd] = (what, "".join(traceback.format_stack(limit=12)[:-1]))

    @property
    def fd(self) -> int:
        """The raw descriptor; raises :class:`ClosedError` once closed."""
        fd = self._fd
        if fd < 0:
            raise ClosedError(f"{self.what} is closed")
        return fd

    def fileno(self) -> int:
        return self.fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def dup(self, what: str | None = None) -> OwnedFd:
        """A new OwnedFd for the same kernel object (``os.dup`` with close-on-exec)."""
        return OwnedFd(os.dup(self.fd), what or self.what)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0 and self._finalizer.detach() is not None:
            _close_quietly(fd)


    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"fd={self._fd}"
        return f"<OwnedFd {self.what} {state}>"


def open_fds() -> dict[int, tuple[str, str]]:
    """Descriptors still open, with what they are and the stack that opened them.

    Tracked only when the process started with ``BPF4PY_DEBUG_FDS=1``.
    """
    with _open_lock:
        return dict(_open)


def tracking_fds() -> bool:
    return _tracking


def raw_fd(obj: object, what: str) -> int:
    """The descriptor number of an int, an OwnedFd, or anything with ``fileno()`` (a socket,
    an open file, a Map or Program of bpf4py).  A closed socket raises ClosedError."""
    if isinstance(obj, bool):
        raise TypeError(f"{what}: expected a file descriptor, got a bool")
    if isinstance(obj, int):
        if obj < 0:
            raise ValueError(f"{what}: invalid file descriptor {obj}")
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise TypeError(
            f"{what}: expected an int file descriptor or an object with fileno(), "
            f"got {type(obj).__name__}"
        )
    fd = fileno()
    if not isinstance(fd, int) or fd < 0:
        raise ClosedError(f"{what}: {type(obj).__name__} is closed (fileno() returned {fd})")
    return fd
