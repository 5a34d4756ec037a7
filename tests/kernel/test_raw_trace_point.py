"""RawTracePoint on the real sys_enter tracepoint (tests/bpf/trace_raw_tp.bpf.c).

``count_getppid`` counts getppid(2) calls of this process only (its tgid and the syscall
number are set as globals before load), so the counts are exact however busy the machine is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    Ebpf,
    EbpfLoader,
    FdLink,
    LinkError,
    NotLoadedError,
    PinnedLink,
    ProgramError,
)
from bpf4py.links import LinkId
from bpf4py.maps.array import Array
from bpf4py.programs.raw_trace_point import RawTracePoint
from bpf4py.types import ProgramType
from tests.kernel_features import RAW_TRACEPOINT_TWICE, requires
from tests.syscalls import getppid_nr


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    loader = (EbpfLoader().override_global("target_tgid", os.getpid())
              .override_global("target_nr", getppid_nr()))
    with loader.load_file(bpf_object("trace_raw_tp")) as obj:
        yield obj


@pytest.fixture
def prog(ebpf: Ebpf) -> RawTracePoint:
    p = ebpf.program("count_getppid", RawTracePoint)
    p.load()
    return p


def calls_after(ebpf: Ebpf, n: int) -> int:
    """Make ``n`` getppid calls, then read how many the program counted so far."""
    for _ in range(n):
        os.getppid()
    value: int = ebpf.map("CALLS", Array)[0]
    return value


@requires(RAW_TRACEPOINT_TWICE)
def test_attach_counts_and_detach_stops(ebpf: Ebpf, prog: RawTracePoint) -> None:
    assert calls_after(ebpf, 3) == 0  # loaded, not attached: nothing runs
    link_id = prog.attach("sys_enter")
    assert isinstance(link_id, LinkId)
    assert calls_after(ebpf, 5) == 5
    prog.detach(link_id)
    assert calls_after(ebpf, 4) == 5
    with pytest.raises(LinkError, match="no link"):
        prog.detach(link_id)
    # Attach again after a detach, and twice at once: each attachment runs the program.
    first, second = prog.attach("sys_enter"), prog.attach("sys_enter")
    assert calls_after(ebpf, 2) == 9
    prog.detach(first)
    assert calls_after(ebpf, 2) == 11
    prog.detach(second)
    assert calls_after(ebpf, 2) == 11


@requires(RAW_TRACEPOINT_TWICE)
def test_unload_detaches_tracked_links(ebpf: Ebpf, prog: RawTracePoint) -> None:
    prog.attach("sys_enter")
    prog.attach("sys_enter")
    assert calls_after(ebpf, 1) == 2
    prog.unload()
    assert not prog.loaded
    assert calls_after(ebpf, 3) == 2
    prog.load()  # loads again from the object, attaches again
    prog.attach("sys_enter")
    assert calls_after(ebpf, 1) == 3


def test_with_block_unloads(ebpf: Ebpf, prog: RawTracePoint) -> None:
    with prog:
        prog.attach("sys_enter")
        assert calls_after(ebpf, 2) == 2
    assert calls_after(ebpf, 2) == 2


def test_taken_link_outlives_unload_until_closed(ebpf: Ebpf, prog: RawTracePoint) -> None:
    link = prog.take_link(prog.attach("sys_enter"))
    assert isinstance(link, FdLink) and link.attached
    prog.unload()  # the link is ours now: it keeps the program attached
    assert calls_after(ebpf, 3) == 3
    info = link.info()
    assert info.id > 0
    with link:
        assert calls_after(ebpf, 1) == 4
    assert not link.attached
    assert calls_after(ebpf, 3) == 4
    link.detach()  # idempotent


def test_pinned_link_survives_everything_until_unpinned(ebpf: Ebpf, prog: RawTracePoint,
                                                        bpffs: Path) -> None:
    pinned = prog.take_link(prog.attach("sys_enter"))
    assert isinstance(pinned, FdLink)
    pin = pinned.pin(bpffs / "raw_tp_link")
    pin.close()
    prog.unload()
    assert calls_after(ebpf, 2) == 2
    again = PinnedLink.from_pin(bpffs / "raw_tp_link")
    again.unpin().detach()
    assert calls_after(ebpf, 2) == 2


def test_attach_errors(ebpf: Ebpf) -> None:
    prog = ebpf.program("count_getppid", RawTracePoint)
    with pytest.raises(NotLoadedError):
        prog.attach("sys_enter")
    prog.load()
    with pytest.raises(LinkError) as exc:
        prog.attach("no_such_tracepoint_xyz")
    assert exc.value.errno_name == "ENOENT" and "no_such_tracepoint_xyz" in str(exc.value)
    with pytest.raises(LinkError):
        prog.attach("syscalls/sys_enter")  # the category is not part of a raw tracepoint name
    with pytest.raises(ProgramError, match="non-empty str"):
        prog.attach("")
    with pytest.raises(ProgramError, match="non-empty str"):
        prog.attach(None)  # type: ignore[arg-type]


def test_program_type_and_info(ebpf: Ebpf, prog: RawTracePoint) -> None:
    assert ebpf.program("record_args").__class__ is RawTracePoint  # the loader picks the class
    assert prog.info().program_type == ProgramType.RAW_TRACEPOINT
    assert RawTracePoint.MIN_KERNEL == "4.17"


def test_test_run_passes_args_and_runs_in_our_task(ebpf: Ebpf) -> None:
    prog = ebpf.program("record_args", RawTracePoint)
    prog.load()
    seen = ebpf.map("SEEN", Array)
    result = prog.test_run([3, 4, 5])
    assert result.return_value == 7
    assert result.data_out is None and result.ctx_out is None
    assert list(seen.values()) == [3, 4, 5, os.getpid()]
    assert prog.test_run([-1, 2, 0], cpu=0).return_value == 1  # u64 wrap-around: -1 + 2
    assert seen[0] == (1 << 64) - 1
    assert prog.test_run([1 << 63, 0, 0]).return_value == 0  # the return value is 32 bits
    assert seen[0] == 1 << 63


def test_test_run_errors(ebpf: Ebpf) -> None:
    prog = ebpf.program("record_args", RawTracePoint)
    with pytest.raises(NotLoadedError):
        prog.test_run([1, 2, 3])
    prog.load()
    with pytest.raises(ProgramError, match="at most 12"):
        prog.test_run([0] * 13)
    with pytest.raises(ProgramError, match="64 bits"):
        prog.test_run([1 << 64])
    with pytest.raises(TypeError, match="ints"):
        prog.test_run(["1"])  # type: ignore[list-item]
    for not_a_sequence in (b"abc", "abc", None, (n for n in range(3))):
        with pytest.raises(TypeError, match="args must be a sequence of ints"):
            prog.test_run(not_a_sequence)  # type: ignore[arg-type]
    with pytest.raises(ProgramError) as exc:
        prog.test_run([1])  # the program reads args[0..2]
    assert exc.value.errno_name == "EINVAL" and "more than the 1 arguments" in str(exc.value)
    with pytest.raises(ProgramError):
        prog.test_run([1, 2, 3], cpu=1 << 20)
