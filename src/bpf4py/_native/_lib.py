"""Imports the compiled module and checks it was built for this version of bpf4py; lends
native memory to Python with its owner kept alive (:func:`memory_of`)."""

from __future__ import annotations

from bpf4py._version import __version__

try:
    from bpf4py._libbpf import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "bpf4py's compiled module bpf4py._libbpf is missing or cannot be loaded "
        f"({exc}); reinstall bpf4py (pip install --force-reinstall bpf4py) so it is rebuilt"
    ) from exc

_built_for = ffi.string(lib.BPF4PY_BUILD_VERSION).decode()
if _built_for != __version__:  # pragma: no cover - only on a stale build
    raise ImportError(
        f"bpf4py._libbpf was built for bpf4py {_built_for}, but this is bpf4py {__version__}: "
        "the compiled module is stale; rebuild it (pip install -e . or make build)"
    )


def memory_of(ptr: object, size: int, owner: object) -> memoryview:
    """A writable view of ``size`` bytes at ``ptr``, memory that ``owner`` (a cdata whose
    destructor frees it) owns: the view and every slice of it keep ``owner`` alive, so the
    memory stays mapped while any of them is held, however the owner's holder is closed."""
    keep = ffi.gc(ffi.cast("char *", ptr), lambda _keep: owner)  # the closure holds owner
    return memoryview(ffi.buffer(keep, size))


__all__ = ["ffi", "lib", "memory_of"]
