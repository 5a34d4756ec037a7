"""ProgramArray: a socket-filter dispatcher tail-calling three targets (tests/bpf/tail_calls.bpf.c).

The dispatcher picks the index from the first UDP payload byte; targets return 1000, 0 (drop)
and 1002 and count into HITS[index]; a fall-through returns 0xffff and counts HITS[3].
"""

from __future__ import annotations

import gc
import socket
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    Ebpf,
    IndexOutOfBounds,
    KeyNotFound,
    MapError,
    NotLoadedError,
    SocketFilter,
)
from bpf4py.maps.program_array import ProgramArray
from bpf4py.programs.cgroup_skb import CgroupSkb
from tests.packets import udp_packet


VERDICTS = {0: 1000, 1: 0, 2: 1002}
FALLTHROUGH = 0xFFFF
FALLTHROUGH_SLOT = 3


def selector_packet(payload: bytes) -> bytes:
    return udp_packet(payload, sport=40000, dport=9)


def verdict(prog: SocketFilter, selector: int) -> int:
    return prog.test_run(data_in=selector_packet(bytes([selector]) + b"data")).return_value


def hits(ebpf: Ebpf) -> list[int]:
    table = ebpf.map("HITS", Array)
    return [table[i] for i in range(4)]


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("tail_calls")) as loaded:
        yield loaded


def load_targets(ebpf: Ebpf) -> list[SocketFilter]:
    targets = [ebpf.program(f"target_{i}", SocketFilter) for i in range(3)]
    for prog in targets:
        prog.load()
    return targets


@pytest.fixture
def dispatch(ebpf: Ebpf) -> SocketFilter:
    prog = ebpf.program("dispatch", SocketFilter)
    prog.load()
    return prog


@pytest.fixture
def table(ebpf: Ebpf, dispatch: SocketFilter) -> ProgramArray:
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    for index, prog in enumerate(load_targets(ebpf)):
        jump.set(index, prog)
    return jump


def test_loader_builds_a_program_array(ebpf: Ebpf) -> None:
    jump = ebpf.map("JUMP_TABLE")
    assert isinstance(jump, ProgramArray)
    assert jump.max_entries == 4
    assert list(jump.indices()) == []


def test_dispatch_by_packet_byte(ebpf: Ebpf, dispatch: SocketFilter, table: ProgramArray) -> None:
    assert [verdict(dispatch, i) for i in range(3)] == [1000, 0, 1002]
    assert verdict(dispatch, 3) == FALLTHROUGH      # empty index
    assert verdict(dispatch, 200) == FALLTHROUGH    # past max_entries
    assert hits(ebpf) == [1, 1, 1, 2]


def test_clear_index_changes_the_verdict(ebpf: Ebpf, dispatch: SocketFilter,
                                         table: ProgramArray) -> None:
    table.clear_index(1)
    assert verdict(dispatch, 1) == FALLTHROUGH
    assert verdict(dispatch, 0) == 1000
    assert list(table.indices()) == [0, 2]
    with pytest.raises(KeyNotFound, match="index 1 holds no program"):
        table.clear_index(1)
    # Set again from a raw descriptor.
    table.set(1, ebpf.program("target_1").fd)
    assert verdict(dispatch, 1) == 0
    assert hits(ebpf) == [1, 1, 0, 1]


def test_indices_lists_set_entries(ebpf: Ebpf, dispatch: SocketFilter) -> None:
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    targets = load_targets(ebpf)
    assert list(jump.indices()) == []
    jump.set(2, targets[2])
    jump.set(0, targets[0])
    assert list(jump.indices()) == [0, 2]
    jump.set(3, targets[1])
    assert list(jump.indices()) == [0, 2, 3]
    assert verdict(dispatch, 3) == 0


def test_bad_index_is_refused_before_the_syscall(ebpf: Ebpf, dispatch: SocketFilter) -> None:
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    unused_fd = 1 << 20  # not an open descriptor: a syscall would fail with EBADF
    for index in (4, 1000, -1):
        with pytest.raises(IndexOutOfBounds, match=f"index {index} is out of bounds"):
            jump.set(index, unused_fd)
        with pytest.raises(IndexError):
            jump.clear_index(index)
    with pytest.raises(MapError, match="EBADF"):
        jump.set(0, unused_fd)


def test_unloaded_program_is_refused(ebpf: Ebpf, dispatch: SocketFilter) -> None:
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    with pytest.raises(NotLoadedError, match="target_0"):
        jump.set(0, ebpf.program("target_0"))
    assert list(jump.indices()) == []
    assert verdict(dispatch, 0) == FALLTHROUGH


def test_program_of_another_type_is_refused(ebpf: Ebpf, dispatch: SocketFilter,
                                            bpf_object: Callable[[str], Path]) -> None:
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    with Ebpf.load_file(bpf_object("cgroup_skb")) as other:
        prog = other.program("count_egress", CgroupSkb)
        prog.load()
        with pytest.raises(MapError, match="index 0") as info:
            jump.set(0, prog)
    assert info.value.errno_name == "EINVAL"
    assert info.value.hint is not None and "same type" in info.value.hint


def test_tail_calls_on_real_packets(ebpf: Ebpf, dispatch: SocketFilter,
                                    table: ProgramArray) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2.0)
        dispatch.attach(rx)

        def exchange(selectors: list[int], expect_received: int) -> list[int]:
            for s in selectors:
                tx.sendto(bytes([s]) + b" payload", rx.getsockname())
            return [rx.recv(64)[0] for _ in range(expect_received)]

        assert exchange([0, 0, 1, 2, 3, 9], 5) == [0, 0, 2, 3, 9]  # target_1 dropped 1
        assert hits(ebpf) == [2, 1, 1, 2]
        table.clear_index(1)
        assert exchange([1, 0], 2) == [1, 0]  # 1 now falls through, and is kept
        assert hits(ebpf) == [3, 1, 1, 3]


def test_table_outlives_python_handles(ebpf: Ebpf, dispatch: SocketFilter) -> None:
    """Dropping the ProgramArray object and unloading the targets keeps the jumps: the Ebpf
    holds a descriptor of the map, the table holds the programs."""
    jump = ebpf.map("JUMP_TABLE", ProgramArray)
    targets = load_targets(ebpf)
    for index, prog in enumerate(targets):
        jump.set(index, prog)
    for prog in targets:
        prog.unload()
    del jump, targets, prog
    gc.collect()
    assert [verdict(dispatch, i) for i in range(3)] == [1000, 0, 1002]
    assert hits(ebpf) == [1, 1, 1, 0]


def test_taken_table_dropped_keeps_working_while_ebpf_lives(ebpf: Ebpf,
                                                            dispatch: SocketFilter) -> None:
    jump = ebpf.take_map("JUMP_TABLE")
    assert isinstance(jump, ProgramArray)
    for index, prog in enumerate(load_targets(ebpf)):
        jump.set(index, prog)
    collected = weakref.ref(jump)
    del jump
    gc.collect()
    assert collected() is None  # the handle (and its descriptor) is gone
    assert [verdict(dispatch, i) for i in range(3)] == [1000, 0, 1002]


def test_kernel_empties_the_table_when_the_last_map_descriptor_closes(
        ebpf: Ebpf, dispatch: SocketFilter, table: ProgramArray) -> None:
    """The contrast to the tests above: once no user-space descriptor of the map is left, the
    kernel empties it, and the (still loaded) dispatcher falls through."""
    survivor = SocketFilter.from_program_info(dispatch.info(), "dispatch")
    try:
        assert verdict(survivor, 0) == 1000
        ebpf.close()  # closes every map descriptor: ours and libbpf's
        deadline = time.monotonic() + 5
        while verdict(survivor, 0) != FALLTHROUGH and time.monotonic() < deadline:
            time.sleep(0.01)  # the kernel empties the table from a work queue
        assert verdict(survivor, 0) == FALLTHROUGH
    finally:
        survivor.unload()
