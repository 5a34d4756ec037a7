"""The Python enums carry the kernel's values (checked against the compiled module)."""

from __future__ import annotations

from bpf4py._libbpf import lib
from bpf4py.types import AttachType, MapType, ProgramType


def test_enum_values_match_the_kernel_headers() -> None:
    checked = 0
    for enum, prefix in ((ProgramType, "BPF_PROG_TYPE_"), (MapType, "BPF_MAP_TYPE_"),
                         (AttachType, "BPF_")):
        for member in enum:
            value = getattr(lib, prefix + member.name, None)
            if value is not None:
                assert value == member.value, member
                checked += 1
    assert checked >= 15


def test_libbpf_names_agree() -> None:
    from bpf4py._native.bpf import type_name

    assert type_name("program", ProgramType.SOCKET_FILTER) == "socket_filter"
    assert type_name("map", MapType.SOCKHASH) == "sockhash"
    assert type_name("attach", AttachType.CGROUP_INET_EGRESS) == "cgroup_inet_egress"
