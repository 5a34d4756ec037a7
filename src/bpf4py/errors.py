"""Exceptions raised by bpf4py.

Every failure is a :class:`BpfError`.  Its message says what was being done and on what
(program or map name, path), the errno name, and a hint where one helps.  Errors that match a
builtin exception are raised as a subclass of both, so plain Python handlers work::

    try:
        ebpf = Ebpf.load_file("prog.bpf.o")
    except PermissionError as exc:      # also a BpfError
        print(exc.errno_name, exc.hint)
"""

from __future__ import annotations

import errno as _errno
from typing import TypeVar

_E = TypeVar("_E", bound="BpfError")

# Kernel-internal errno values that reach user space from bpf(2) and are not in `errno`.
_KERNEL_ERRNO_NAMES = {524: "ENOTSUPP", 512: "ERESTARTSYS", 515: "ENOIOCTLCMD"}
# libbpf's own codes (enum libbpf_errno in libbpf.h), returned as -errno like the kernel's.
_LIBBPF_ERRNO_NAMES = {
    4000 + i: "LIBBPF_ERRNO__" + name
    for i, name in enumerate(("LIBELF", "FORMAT", "KVERSION", "ENDIAN", "INTERNAL", "RELOC",
                              "LOAD", "VERIFY", "PROG2BIG", "KVER", "PROGTYPE", "WRNGPID",
                              "INVSEQ", "NLPARSE"))
}


def errno_name(code: int) -> str:
    """``errno_name(1) == "EPERM"``, ``errno_name(4001) == "LIBBPF_ERRNO__FORMAT"``; unknown
    codes come back as ``"errno N"``."""
    return (_errno.errorcode.get(code) or _KERNEL_ERRNO_NAMES.get(code)
            or _LIBBPF_ERRNO_NAMES.get(code) or f"errno {code}")


class BpfError(Exception):
    """Base of every bpf4py error.

    Attributes: ``errno`` (``None`` for errors found in Python before any syscall),
    ``errno_name``, ``hint`` (may be ``None``).
    """

    errno: int | None
    hint: str | None

    def __init__(self, message: str, *, errno: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.errno = errno
        self.hint = hint

    @property
    def errno_name(self) -> str | None:
        return None if self.errno is None else errno_name(self.errno)

    def __str__(self) -> str:
        text = self.message
        if self.errno is not None:
            text += f": {self.errno_name} ({_strerror(self.errno)})"
        if self.hint:
            text += f" [hint: {self.hint}]"
        return text


def _strerror(code: int) -> str:
    if code in _LIBBPF_ERRNO_NAMES:
        from bpf4py._native.check import libbpf_strerror  # errors.py stays importable alone

        return libbpf_strerror(code)
    import os

    text = os.strerror(code)
    return "operation not supported by this kernel" if code == 524 else text


class ProgramError(BpfError):
    """A program failed to load, attach, detach or run.

    ``verifier_log`` holds the whole verifier log when the kernel rejected the program.
    """

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        hint: str | None = None,
        verifier_log: str | None = None,
    ):
        super().__init__(message, errno=errno, hint=hint)
        self.verifier_log = verifier_log

    def __str__(self) -> str:
        text = super().__str__()
        if self.verifier_log:
            tail = self.verifier_log.rstrip().splitlines()[-12:]
            text += "\nverifier log (last lines; full log in .verifier_log):\n" + "\n".join(tail)
        return text


class MapError(BpfError):
    """A map operation failed."""


class KeyNotFound(MapError, KeyError):
    """The key is not in the map (``ENOENT`` from a lookup or delete)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return BpfError.__str__(self)


class InvalidKeySize(MapError, ValueError):
    """A key of the wrong size for the map: the message names expected and given sizes."""


class InvalidValueSize(MapError, ValueError):
    """A value of the wrong size for the map: the message names expected and given sizes."""


class IndexOutOfBounds(MapError, IndexError):
    """An array index at or past the map's ``max_entries``."""


class InvalidMapType(MapError, TypeError):
    """The map is not of the type the class or call expects."""


class LinkError(BpfError):
    """Attaching or detaching a link failed, or the link id is unknown."""


class PinError(BpfError):
    """Pinning to, or opening from, the BPF filesystem failed."""


class BtfError(BpfError):
    """BTF could not be read, or a type is missing or cannot be used as asked."""


class MissingDependency(BpfError, ImportError):
    """An optional dependency (numpy, pandas) is not installed."""


class ObjectError(BpfError):
    """An eBPF object (ELF) could not be opened or prepared."""


class ClosedError(BpfError, ValueError):
    """The object was closed (or the program unloaded) and cannot be used."""


class NotLoadedError(ProgramError):
    """The program has not been loaded into the kernel yet: call ``load()`` first."""


class FeatureNotSupported(BpfError, NotImplementedError):
    """The running kernel lacks a feature; ``min_kernel`` names the version that has it."""

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        hint: str | None = None,
        min_kernel: str | None = None,
    ):
        if min_kernel and not hint:
            hint = f"needs Linux {min_kernel} or newer"
        super().__init__(message, errno=errno, hint=hint)
        self.min_kernel = min_kernel


# Builtins that a BpfError is also raised as, by errno.
_BUILTIN_BY_ERRNO: dict[int, type[Exception]] = {
    _errno.EPERM: PermissionError,
    _errno.EACCES: PermissionError,
    _errno.ENOENT: FileNotFoundError,
    _errno.EEXIST: FileExistsError,
    _errno.EBADF: ValueError,
    _errno.E2BIG: ValueError,
    _errno.EINVAL: ValueError,
}
_mixed: dict[tuple[type[BpfError], type[Exception]], type[BpfError]] = {}


def with_builtin(cls: type[_E], code: int | None) -> type[_E]:
    """``cls`` or a cached subclass of ``cls`` and the builtin matching ``code``.

    ``with_builtin(ProgramError, EPERM)`` is a class that is both a ``ProgramError`` and a
    ``PermissionError``.
    """
    builtin = _BUILTIN_BY_ERRNO.get(code) if code is not None else None
    if builtin is None or issubclass(cls, builtin):
        return cls
    key = (cls, builtin)
    mixed = _mixed.get(key)
    if mixed is None:
        mixed = type(cls.__name__, (cls, builtin), {"__module__": cls.__module__})
        mixed.__str__ = cls.__str__  # type: ignore[method-assign]
        _mixed[key] = mixed
    return mixed  # type: ignore[return-value]
