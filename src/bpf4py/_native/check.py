"""errno -> exception: the one place that turns a failing libbpf call into a BpfError."""

from __future__ import annotations

import errno as E
from typing import Any, NoReturn, TypeVar

from bpf4py.errors import BpfError, errno_name, with_builtin

from ._lib import ffi, lib

_E = TypeVar("_E", bound=BpfError)

ENOTSUPP = 524  # kernel-internal "not supported", seen by user space from bpf(2)

PRIVILEGE_HINT = (
    "bpf(2) needs root or CAP_BPF (plus CAP_NET_ADMIN for networking programs, CAP_PERFMON "
    "for tracing); check kernel.unprivileged_bpf_disabled and kernel lockdown"
)
_CAP_SYS_ADMIN, _CAP_BPF = 21, 39
_HINTS = {
    E.EBADF: "the file descriptor is closed or is not a BPF object of the right kind",
    ENOTSUPP: "the running kernel does not support this operation",
    E.EOPNOTSUPP: "the running kernel does not support this operation",
}


def libbpf_strerror(code: int) -> str:
    """libbpf's text for one of its own error codes (4000 and up) or an errno."""
    buf = ffi.new("char[]", 256)
    lib.libbpf_strerror(code, buf, 256)
    return str(ffi.string(buf).decode("utf-8", "replace"))


def c_str(text: str, what: str) -> bytes:
    """``text`` encoded for a C string argument; ValueError when it holds a NUL byte, where C
    would silently stop reading (``"/sys/fs/bpf/a\\0b"`` would pin at ``/sys/fs/bpf/a``)."""
    if "\0" in text:
        raise ValueError(f"{what}: {text!r} contains a NUL byte")
    return text.encode()


def privileged() -> bool:
    """Whether this process holds CAP_BPF or CAP_SYS_ADMIN (its effective set, from
    /proc/self/status); True when that cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    except (OSError, StopIteration, ValueError):
        return True
    return bool(caps >> _CAP_BPF & 1 or caps >> _CAP_SYS_ADMIN & 1)


def error(
    cls: type[_E], what: str, code: int, hint: str | None = None, *, mix: bool = True,
    **extra: Any,
) -> _E:
    """An instance of ``cls`` for a failure with errno; with ``mix``, also an instance of the
    matching builtin (``PermissionError`` for EPERM, ...)."""
    general = _HINTS.get(code)
    if code == E.EPERM and not privileged():  # else EPERM means something else: see ``hint``
        general = PRIVILEGE_HINT
    hint = "; ".join(h for h in (general, hint) if h) or None
    kind = with_builtin(cls, code) if mix else cls
    return kind(what, errno=code, hint=hint, **extra)


def check(ret: int, cls: type[BpfError], what: str, hint: str | None = None) -> int:
    """Return ``ret`` when it is >= 0; libbpf returns ``-errno`` on failure."""
    if ret < 0:
        raise error(cls, what, -ret, hint)
    return ret


def fail_errno(cls: type[BpfError], what: str, hint: str | None = None) -> NoReturn:
    """Raise for a call that returned NULL or -1 and left its code in errno."""
    raise error(cls, what, ffi.errno or E.EINVAL, hint)


__all__ = ["c_str", "check", "error", "fail_errno", "errno_name", "libbpf_strerror", "ENOTSUPP"]
