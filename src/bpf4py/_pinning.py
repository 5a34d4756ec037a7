"""Pinning in bpffs, shared by programs and maps (links pin through :class:`FdLink`)."""

from __future__ import annotations

import os

from ._native import bpf as _bpf
from .errors import PinError


def remove_pin(path: str, what: str) -> None:
    """Unlink the pin at ``path``; PinError (with errno) when that fails."""
    try:
        os.unlink(path)
    except OSError as exc:
        raise PinError(f"unpinning {what} from {path}", errno=exc.errno) from exc


class Pinnable:
    """``pin(path)`` / ``unpin()`` for an object with a descriptor (``fd``) and a ``what``."""

    _pin_path: str | None = None

    @property
    def fd(self) -> int:
        raise NotImplementedError

    @property
    def what(self) -> str:
        raise NotImplementedError

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin in bpffs: the kernel object stays after this process lets go of it, until the
        pin is removed.  The directories of ``path`` must exist on a mounted bpffs.  One pin
        per object: :meth:`unpin` it before pinning elsewhere."""
        path = os.fspath(path)
        if self._pin_path is not None:
            raise PinError(f"pinning {self.what} at {path}: it is already pinned at "
                           f"{self._pin_path} (unpin() it first)")
        _bpf.obj_pin(self.fd, path, self.what)
        self._pin_path = path

    def unpin(self) -> None:
        """Remove the pin made by :meth:`pin` (for maps, also the loader's pin path)."""
        if self._pin_path is None:
            raise PinError(f"{self.what} is not pinned by this object")
        remove_pin(self._pin_path, self.what)
        self._pin_path = None
