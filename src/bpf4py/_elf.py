"""Just enough ELF reading to check an object is an ELF file and read its ``license``."""

from __future__ import annotations

import struct

from .errors import ObjectError

ELF_MAGIC = b"\x7fELF"


def check_elf(data: bytes, name: str) -> None:
    """Raise ObjectError unless ``data`` starts like a 64-bit ELF relocatable object."""
    if len(data) < 64 or data[:4] != ELF_MAGIC:
        raise ObjectError(f"{name}: not an ELF object (compile with clang -target bpf -c)")
    if data[4] != 2:
        raise ObjectError(f"{name}: not a 64-bit ELF object (compile with clang -target bpf)")


def section(data: bytes, wanted: str) -> bytes | None:
    """The contents of the section named ``wanted``, or None (malformed input gives None)."""
    try:
        order = "<" if data[5] == 1 else ">"
        shoff, = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A)
        if shentsize != 64 or shnum > 65535 or shstrndx >= shnum:
            return None
        # Each 64-byte header: the name's offset (I), then offset and size (Q Q) at 0x18.
        header = struct.Struct(order + "I20xQQ24x")
        _, str_off, str_size = header.unpack_from(data, shoff + shstrndx * 64)
        names = data[str_off:str_off + str_size]
        key = wanted.encode() + b"\0"  # names end with a NUL (and may share tails)
        for name, offset, size in header.iter_unpack(data[shoff:shoff + shnum * 64]):
            if names.startswith(key, name):
                return data[offset:offset + size]
    except (struct.error, IndexError):
        return None
    return None


def license_of(data: bytes) -> str:
    """The object's license string (section ``license``); "" when absent."""
    raw = section(data, "license")
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace") if raw else ""
