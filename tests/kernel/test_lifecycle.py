"""Descriptors: load/close cycles leave nothing open; closed objects raise."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

from bpf4py import Ebpf, HashMap, SocketFilter
from bpf4py.info import loaded_programs


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_1000_load_close_cycles_leave_fd_count_unchanged(bpf_object: Callable[[str], Path]) -> None:
    data = bpf_object("packet_counter").read_bytes()
    # Warm up (imports, the possible-CPU cache, libbpf's feature probes).
    with Ebpf.load(data) as ebpf:
        ebpf.program("count_packets").load()
    gc.collect()
    before = fd_count()
    for i in range(1000):
        with Ebpf.load(data, "cycle") as ebpf:
            prog = ebpf.program("count_packets", SocketFilter)
            prog.load()
            counts = ebpf.map("COUNTS", HashMap)
            counts[i % 256] = bytes(16)
    gc.collect()
    assert fd_count() == before
    assert not [p for p in loaded_programs() if p.name == "count_packets"]


def test_objects_dropped_without_close_are_released_by_gc(bpf_object: Callable[[str], Path]) -> None:
    data = bpf_object("packet_counter").read_bytes()
    gc.collect()
    before = fd_count()
    for _ in range(50):
        ebpf = Ebpf.load(data, "dropped")
        ebpf.program("count_packets").load()
        del ebpf
    gc.collect()
    assert fd_count() == before
