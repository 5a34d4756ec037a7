"""Just enough ELF reading: check an object is a 64-bit ELF file, and read its ``license``.

bpf4py loads each program with ``bpf_prog_load`` itself, so it needs the license that libbpf
reads at open but does not expose; ``csrc/elf.c`` finds it in the object's bytes.

Example::

    check_elf(data, "counter")      # ObjectError unless an ELF object for clang -target bpf
    license_of(data)                # "GPL"
"""

from __future__ import annotations

from bpf4py.errors import ObjectError

from ._lib import ffi, lib

ELF_MAGIC = b"\x7fELF"
_LICENSE_MAX = 64  # libbpf keeps the first 63 bytes


def check_elf(data: bytes, name: str) -> None:
    """Raise ObjectError unless ``data`` starts like a 64-bit ELF relocatable object."""
    if len(data) < 64 or data[:4] != ELF_MAGIC:
        raise ObjectError(f"{name}: not an ELF object (compile with clang -target bpf -c)")
    if data[4] != 2:
        raise ObjectError(f"{name}: not a 64-bit ELF object (compile with clang -target bpf)")


def license_of(data: bytes) -> str:
    """The object's license string (section ``license``); "" when absent or unreadable."""
    out = ffi.new("char[]", _LICENSE_MAX)
    lib.bpf4py_elf_license(data, len(data), out, _LICENSE_MAX)
    return str(ffi.string(out).decode("utf-8", "replace"))
