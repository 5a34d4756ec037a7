"""bpf4py.features, and FeatureNotSupported where the running kernel lacks a map or program type.

Each test asserts on every kernel: where the kernel has the type, that it works; where it is
older than the type, that the error is FeatureNotSupported naming the version that has it.
The host runs the first branch, the Linux 6.1 VM run (make test-vm) the second.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, HashMap, features
from bpf4py.errors import FeatureNotSupported, MapError, ProgramError
from bpf4py.maps.arena import Arena
from bpf4py.maps.storage import CgrpStorage
from bpf4py.types import MapType, ProgramType

pytestmark = pytest.mark.kernel


def older_than(version: str) -> bool:
    return features.kernel_version() < features.parse_version(version)


def test_kernel_version_is_the_running_release() -> None:
    release = os.uname().release
    assert features.kernel_version() == features.parse_version(release)
    assert release.startswith("{}.{}".format(*features.kernel_version()))


def test_probes_agree_with_the_kernel_version() -> None:
    assert features.is_map_supported(MapType.HASH)
    assert features.is_program_supported(ProgramType.SOCKET_FILTER)
    assert features.is_map_supported(MapType.ARENA) is not older_than(Arena.MIN_KERNEL)
    assert features.is_map_supported(MapType.CGRP_STORAGE) is not older_than(
        CgrpStorage.MIN_KERNEL)
    assert features.is_program_supported(ProgramType.NETFILTER) is not older_than("6.4")


def test_a_failure_of_a_supported_type_keeps_its_own_error() -> None:
    # max_entries 0 is EINVAL for a hash map: the probe says HASH exists, the MapError stands.
    with pytest.raises(MapError) as raised:
        HashMap.create(4, 8, 0)
    assert not isinstance(raised.value, FeatureNotSupported)
    assert raised.value.errno == errno.EINVAL


def test_creating_a_map_of_a_type_the_kernel_lacks() -> None:
    if not older_than(Arena.MIN_KERNEL):
        with Arena.create(1) as arena:
            assert arena.size > 0
        return
    with pytest.raises(FeatureNotSupported, match=r"creating Arena 'a'.*has no ARENA maps"
                       r".*needs Linux 6\.9 or newer") as raised:
        Arena.create(1, name="a")
    assert raised.value.min_kernel == "6.9" and raised.value.errno is not None


def test_loading_an_object_with_a_map_type_the_kernel_lacks(
    bpf_object: Callable[[str], Path],
) -> None:
    path = bpf_object("trace_cgrp_storage")
    if not older_than(CgrpStorage.MIN_KERNEL):
        with Ebpf.load_file(path) as ebpf:
            assert isinstance(ebpf.map("CGROUP_CALLS"), CgrpStorage)
        return
    with pytest.raises(FeatureNotSupported, match=r"map 'CGROUP_CALLS'.*has no CGRP_STORAGE "
                       r"maps.*needs Linux 6\.2 or newer") as raised:
        Ebpf.load_file(path)
    assert raised.value.min_kernel == "6.2"


def test_loading_a_program_of_a_type_the_kernel_lacks(
    bpf_object: Callable[[str], Path],
) -> None:
    with Ebpf.load_file(bpf_object("newer_types")) as ebpf:
        prog = ebpf.program("accept_all")
        if not older_than("6.4"):  # BPF_PROG_TYPE_NETFILTER
            prog.load()
            assert prog.info().program_type == ProgramType.NETFILTER
            return
        with pytest.raises(FeatureNotSupported, match=r"loading program 'accept_all'.*has no "
                           r"NETFILTER programs") as raised:
            prog.load()
        assert not isinstance(raised.value, ProgramError) and not prog.loaded
