"""The Program base class shared by every program family."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar, TypeVar

from .._closing import Closing
from .._native import bpf as _bpf
from .._native.fd import OwnedFd
from .._native.object import ProgramSpec
from .._pinning import Pinnable
from ..errors import ClosedError, NotLoadedError, ProgramError
from ..info import ProgramInfo
from ..links import Link, LinkId, LinkSet
from ..types import ProgramType

P = TypeVar("P", bound="Program")
LoadFn = Callable[[], OwnedFd]

#: Kernel program type -> the class the loader builds (filled by ``__init_subclass__``).
PROGRAM_CLASSES: dict[int, type[Program]] = {}


class Program(Closing, Pinnable):
    """A program of an eBPF object.  It has no descriptor until :meth:`load`.

    Subclasses set ``PROGRAM_TYPE`` and add ``attach``/``detach`` for their attach target.
    Every program is a context manager: leaving the block unloads it (detaching its tracked
    links).
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.UNSPEC
    #: The first Linux release that runs this program type.
    MIN_KERNEL: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "PROGRAM_TYPE" in cls.__dict__:
            PROGRAM_CLASSES.setdefault(cls.PROGRAM_TYPE, cls)

    def __init__(
        self,
        name: str,
        section: str = "",
        *,
        loader: LoadFn | None = None,
        fd: OwnedFd | None = None,
    ) -> None:
        self.name = name
        self._what = f"program {name!r}"
        self.section = section
        self._loader = loader
        self._fd = fd
        self._links = LinkSet(f"{type(self).__name__} {name!r}")

    def __repr__(self) -> str:
        state = "loaded" if self._fd is not None else "not loaded"
        return f"<{type(self).__name__} {self.name!r} section={self.section!r} {state}>"

    @property
    def what(self) -> str:
        """``"program 'NAME'"``: how errors name this program."""
        return self._what

    # --- lifetime -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._fd is not None

    def load(self) -> None:
        """Load the program into the kernel (the verifier runs now).

        Raises :class:`ProgramError` with the verifier log when the kernel rejects it.
        """
        if self._fd is not None:
            raise ProgramError(f"{self.what} is already loaded")
        if self._orphaned:
            raise self._closed_error()
        if self._loader is None:
            raise ProgramError(f"{self.what} has no object to load from (opened from a pin "
                               "or an id; it was loaded already and then unloaded)")
        self._fd = self._loader()

    def unload(self) -> None:
        """Detach every link this program still tracks, then release its descriptor.

        Links handed out by :meth:`take_link` are not detached.  The kernel frees the program
        once nothing else (a pin, a link, a prog array) holds it.
        """
        try:
            self._links.detach_all()
        finally:
            fd, self._fd = self._fd, None
            if fd is not None:
                fd.close()

    def close(self) -> None:
        """Same as :meth:`unload`; safe to call twice."""
        self.unload()

    _orphaned = False

    def _orphan(self) -> None:
        """Unload for good: the Ebpf that made this program closed (``load()`` and every use
        then raise ClosedError, not NotLoadedError)."""
        self._orphaned = True
        self.unload()

    def _closed_error(self) -> ClosedError:
        return ClosedError(f"{self.what} was unloaded when its Ebpf object closed")


    # --- descriptor -------------------------------------------------------------------------

    def _owned(self) -> OwnedFd:
        if self._fd is None:
            if self._orphaned:
                raise self._closed_error()
            raise NotLoadedError(f"{self.what} is not loaded; call load() first")
        return self._fd

    @property
    def fd(self) -> int:
        """The program's file descriptor; raises :class:`NotLoadedError` before ``load()``."""
        owned = self._fd
        return owned.fd if owned is not None else self._owned().fd

    def fileno(self) -> int:
        return self.fd

    # --- links ------------------------------------------------------------------------------

    def _track(self, link: Link) -> LinkId:
        return self._links.add(link)

    def detach(self, link_id: LinkId) -> None:
        """Detach the attachment ``link_id`` returned by ``attach()``."""
        self._links.pop(link_id).detach()

    def take_link(self, link_id: LinkId) -> Link:
        """Take ownership of a link: the program no longer tracks it, and it detaches when you
        ``close()`` it or leave its ``with`` block (not when the program is unloaded)."""
        return self._links.pop(link_id)

    # --- metadata and pinning ----------------------------------------------------------------

    def info(self) -> ProgramInfo:
        """Metadata from the kernel (Linux 4.13)."""
        return ProgramInfo.from_fd(self.fd, self.what)


    @classmethod
    def _check_type(cls, fd: OwnedFd, where: str) -> ProgramInfo:
        try:
            info = ProgramInfo.from_fd(fd.fd, where)
        except Exception:
            fd.close()
            raise
        if info.program_type != cls.PROGRAM_TYPE:
            fd.close()
            kind = getattr(info.program_type, "name", info.program_type)
            raise ProgramError(
                f"{where} is a {kind} program, not {cls.PROGRAM_TYPE.name} ({cls.__name__})"
            )
        return info

    @classmethod
    def from_pin(cls: type[P], path: str | os.PathLike[str]) -> P:
        """Open a program pinned at ``path``.  Existing links are not adopted (use
        :class:`~bpf4py.links.PinnedLink` for those); closing it does not unload a pinned
        program from the kernel."""
        path = os.fspath(path)
        fd = _bpf.obj_get(path, "program")
        info = cls._check_type(fd, f"object pinned at {path}")
        return cls._adopt(info.name, fd)

    @classmethod
    def from_program_info(cls: type[P], info: ProgramInfo, name: str) -> P:
        """A handle to an already loaded program (see :func:`bpf4py.info.loaded_programs`).

        Raises ProgramError when the kernel's program type is not this class's type.
        """
        fd = _bpf.fd_by_id("program", info.id)
        cls._check_type(fd, f"program id {info.id}")
        return cls._adopt(name, fd)

    @classmethod
    def _from_spec(cls: type[P], spec: ProgramSpec, loader: LoadFn) -> P:
        """The program as the loader builds it from the object (subclasses read more of
        ``spec``, e.g. the expected attach type)."""
        return cls(spec.name, spec.section, loader=loader)

    @classmethod
    def _adopt(cls: type[P], name: str, fd: OwnedFd) -> P:
        fd.what = f"program {name!r}"
        return cls(name, fd=fd)

