"""Fuzzing (bounded; `make fuzz` runs longer): bad objects, keys, values and closed handles
give BpfError / TypeError / ValueError -- never a crash or a hang."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpf4py import BpfError, Ebpf, HashMap

pytestmark = pytest.mark.kernel
EXAMPLES = int(os.environ.get("BPF4PY_FUZZ_EXAMPLES", "300"))
ALLOWED = (BpfError, TypeError, ValueError, OverflowError)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def seed_object(bpf_object: Callable[[str], Path]) -> bytes:
    return bpf_object("packet_counter").read_bytes()


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    try:
        Ebpf.load(data, "fuzz").close()
    except ALLOWED:
        pass


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.integers(min_value=64))
def test_mutated_elf(seed_object: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed_object[:max(cut % len(seed_object), 64)])
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        with Ebpf.load(bytes(data), "mutated") as ebpf:
            for prog in ebpf.programs.values():
                try:
                    prog.load()
                except ALLOWED:
                    pass
    except ALLOWED:
        pass


keys = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.binary(max_size=12),
                 st.text(max_size=3), st.none(), st.floats(), st.booleans())


@FUZZ
@given(key=keys, value=keys)
def test_map_keys_and_values(key: object, value: object) -> None:
    with HashMap.create(4, 8, 16, name="fuzz") as m:
        for op in (lambda: m.insert(key, value), lambda: m.get(key), lambda: m.remove(key),
                   lambda: key in m):
            try:
                op()
            except (*ALLOWED, KeyError):
                pass


def test_use_after_close_of_every_handle(seed_object: bytes) -> None:
    ebpf = Ebpf.load(seed_object, "closed")
    prog = ebpf.program("count_packets")
    prog.load()
    m = ebpf.take_map("COUNTS")
    m.close()
    ebpf.close()
    calls: list[Callable[[], object]] = [
        lambda: prog.fd, lambda: prog.info(), lambda: prog.load(), lambda: prog.pin("/x"),
        lambda: m[1], lambda: m.insert(1, bytes(16)), lambda: list(m.items()), lambda: m.info(),
        lambda: m.fd, lambda: ebpf.program("count_packets"), lambda: ebpf.maps,
    ]
    for call in calls:
        with pytest.raises(ALLOWED):
            call()
