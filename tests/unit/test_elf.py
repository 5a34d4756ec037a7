"""ELF checks done before libbpf sees the bytes, and the license bpf4py loads programs with."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpf4py._native.elf import check_elf, license_of
from bpf4py.errors import ObjectError


def test_rejects_non_elf_and_32_bit() -> None:
    with pytest.raises(ObjectError, match="not an ELF object"):
        check_elf(b"MZ" + bytes(100), "x")
    with pytest.raises(ObjectError, match="not a 64-bit"):
        check_elf(b"\x7fELF\x01" + bytes(100), "x")


def test_license_of_a_compiled_object(bpf_object: Callable[[str], Path]) -> None:
    data = bpf_object("packet_counter").read_bytes()
    check_elf(data, "packet_counter")
    assert license_of(data) == "GPL"


def _license_section(data: bytes) -> tuple[int, int]:
    """Where the license section's header and its name are (a little-endian ELF64 object)."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
    names_at, = struct.unpack_from("<Q", data, shoff + shstrndx * 64 + 0x18)
    for header in range(shoff, shoff + shnum * 64, 64):
        name_at = names_at + struct.unpack_from("<I", data, header)[0]
        if data[name_at:data.index(b"\0", name_at)] == b"license":
            return header, name_at
    raise AssertionError("the compiled object has a license section")


def _renamed_license(data: bytes, new_name: bytes) -> bytes:
    """``data`` with the name of its license section overwritten by ``new_name``."""
    _, at = _license_section(data)
    return data[:at] + new_name + data[at + len(new_name):]


def test_an_object_without_a_license_section(bpf_object: Callable[[str], Path]) -> None:
    data = bpf_object("packet_counter").read_bytes()
    assert license_of(_renamed_license(data, b"licensf")) == ""
    assert license_of(_renamed_license(data, b"lic\0nse")) == ""  # a prefix is not the name


def test_a_long_license_is_cut_to_63_bytes_as_libbpf_does(
        bpf_object: Callable[[str], Path]) -> None:
    data = bytearray(bpf_object("packet_counter").read_bytes())
    header, _ = _license_section(bytes(data))
    # Point the license section at 100 bytes of text written just past the ELF header.
    struct.pack_into("<QQ", data, header + 0x18, 0x40, 100)
    data[0x40:0x40 + 100] = b"L" * 100
    assert license_of(bytes(data)) == "L" * 63


@pytest.mark.parametrize("data", [
    b"",
    b"\x7fELF",
    b"\x7fELF\x02\x01" + bytes(58) + b"\xff" * 200,  # section headers far outside the bytes
    b"\x7fELF\x02\x02" + bytes(58),  # big-endian: not the host's byte order
])
def test_garbage_gives_no_license(data: bytes) -> None:
    assert license_of(data) == ""


@settings(max_examples=300, derandomize=True, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
       cut=st.integers(min_value=0))
def test_mutated_objects_never_read_outside_their_bytes(
        bpf_object: Callable[[str], Path], flips: list[tuple[int, int]], cut: int) -> None:
    seed = bpf_object("packet_counter").read_bytes()
    data = bytearray(seed[:cut % (len(seed) + 1)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    assert isinstance(license_of(bytes(data)), str)
