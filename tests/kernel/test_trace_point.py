"""TracePoint on the real syscalls/sys_enter_getppid tracepoint (tests/bpf/trace_tp.bpf.c and
the CO-RE object tests/bpf/core_task.bpf.c), and the tracefs helpers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import Ebpf, EbpfLoader, FdLink, LinkError, NotLoadedError, ProgramError
from bpf4py.fs import fs_type
from bpf4py.maps.array import Array
from bpf4py.programs.trace_point import TracePoint
from bpf4py.tracefs import ensure_tracefs, tracefs_root, tracepoint_id
from bpf4py.types import ProgramType
from tests.syscalls import getppid_nr


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    loader = EbpfLoader().override_global("target_tgid", os.getpid())
    with loader.load_file(bpf_object("trace_tp")) as obj:
        yield obj


@pytest.fixture
def prog(ebpf: Ebpf) -> TracePoint:
    p = ebpf.program("on_getppid", TracePoint)
    p.load()
    return p


def calls_after(ebpf: Ebpf, n: int) -> int:
    for _ in range(n):
        os.getppid()
    value: int = ebpf.map("GETPPID", Array)[0]
    return value


def test_attach_reads_the_record_and_detach_stops(ebpf: Ebpf, prog: TracePoint) -> None:
    assert prog.info().program_type == ProgramType.TRACEPOINT
    link_id = prog.attach("syscalls", "sys_enter_getppid")
    assert calls_after(ebpf, 4) == 4
    assert ebpf.map("GETPPID", Array)[1] == getppid_nr()  # the record's __syscall_nr
    prog.detach(link_id)
    assert calls_after(ebpf, 3) == 4


def test_take_link_and_unload(ebpf: Ebpf, prog: TracePoint) -> None:
    link = prog.take_link(prog.attach("syscalls", "sys_enter_getppid"))
    assert isinstance(link, FdLink)
    with pytest.raises(LinkError, match="already attached") as exc:
        prog.attach("syscalls", "sys_enter_getppid")  # once per tracepoint
    assert exc.value.errno_name == "EEXIST"
    assert calls_after(ebpf, 1) == 1
    prog.unload()  # the taken link holds the program
    assert calls_after(ebpf, 2) == 3
    with link:
        pass
    assert calls_after(ebpf, 2) == 3
    with pytest.raises(NotLoadedError):
        prog.attach("syscalls", "sys_enter_getppid")
    prog.load()  # the tracepoint is free again
    prog.attach("syscalls", "sys_enter_getppid")
    assert calls_after(ebpf, 1) == 4


def test_with_block_unloads(ebpf: Ebpf, prog: TracePoint) -> None:
    with prog:
        prog.attach("syscalls", "sys_enter_getppid")
        assert calls_after(ebpf, 2) == 2
    assert calls_after(ebpf, 2) == 2


def test_attach_errors(prog: TracePoint) -> None:
    with pytest.raises(ProgramError, match="no tracepoint syscalls/no_such_event") as exc:
        prog.attach("syscalls", "no_such_event")
    assert "available_events" in str(exc.value)
    for category, name in (("sys/calls", "x"), ("..", "x"), ("syscalls", ""), ("", "x"),
                           (1, 2), ("syscalls\0", "x")):
        with pytest.raises(ProgramError, match="invalid tracepoint"):
            prog.attach(category, name)


def test_core_object_attached_for_real(bpf_object: Callable[[str], Path]) -> None:
    """tests/bpf/core_task.bpf.c reads task->tgid through a CO-RE relocation."""
    with Ebpf.load_file(bpf_object("core_task")) as ebpf:
        prog = ebpf.program("record_tgid", TracePoint)
        prog.load()
        prog.attach("syscalls", "sys_enter_getppid")
        tgid = ebpf.map("TGID", Array)
        seen = set()
        for _ in range(20):  # another process's getppid may land between ours and the read
            os.getppid()
            seen.add(tgid[0])
            if os.getpid() in seen:
                break
        assert os.getpid() in seen


def test_tracefs_helpers() -> None:
    root = ensure_tracefs()
    assert tracefs_root() == root and fs_type(root) == "tracefs"
    with open(os.path.join(root, "events", "syscalls", "sys_enter_getppid", "id")) as f:
        assert tracepoint_id("syscalls", "sys_enter_getppid") == int(f.read())
    with pytest.raises(ProgramError, match="no tracepoint"):
        tracepoint_id("no_such_category", "x")
