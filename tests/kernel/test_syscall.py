"""Syscall programs: loaded sleepable, run from user space on a context they change."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

import bpf4py
from bpf4py import Ebpf, ProgramError
from bpf4py.programs.syscall import Syscall

NUMBERS = struct.Struct("=III")  # struct numbers {a, b, sum}


@pytest.fixture
def add(bpf_object: Callable[[str], Path]) -> Syscall:
    ebpf = Ebpf.load_file(bpf_object("syscall"))
    prog = ebpf.program("add", Syscall)
    prog.load()  # the kernel takes a syscall program only with BPF_F_SLEEPABLE
    return prog


def test_the_program_changes_the_context_it_is_given(add: Syscall) -> None:
    assert bpf4py.Syscall is Syscall and add.info().program_type == bpf4py.ProgramType.SYSCALL
    ctx = NUMBERS.pack(40, 2, 0)
    result = add.test_run(ctx)
    assert result.return_value == NUMBERS.size
    assert NUMBERS.unpack(result.ctx_out or b"") == (40, 2, 42)
    assert ctx == NUMBERS.pack(40, 2, 0)  # the caller's bytes are left alone
    buf = bytearray(NUMBERS.pack(0xFFFFFFFF, 1, 7))
    assert NUMBERS.unpack(add.test_run(memoryview(buf)).ctx_out or b"") == (0xFFFFFFFF, 1, 0)
    assert buf == NUMBERS.pack(0xFFFFFFFF, 1, 7)


def test_bad_contexts_name_the_problem(add: Syscall) -> None:
    with pytest.raises(ProgramError, match="EINVAL") as exc:
        add.test_run(bytes(4))  # the program reads 12 bytes of context
    assert "context of the wrong size" in str(exc.value)
    with pytest.raises(ProgramError, match="at most 65535 bytes") as exc:
        add.test_run(bytes(70000))
    with pytest.raises(TypeError, match="bytes or another buffer, got int"):
        add.test_run(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got str"):
        add.test_run("abc")  # type: ignore[arg-type]
