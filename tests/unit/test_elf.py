"""ELF checks done before libbpf sees the bytes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py._elf import check_elf, license_of, section
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
    assert section(data, "no-such-section") is None


def test_garbage_gives_no_license() -> None:
    assert license_of(b"\x7fELF\x02\x01" + bytes(58) + b"\xff" * 200) == ""
