"""Pinning programs and maps in bpffs: they outlive the loading object and the process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, EbpfLoader, HashMap, PinError, ProgramError, SocketFilter, fs
from bpf4py.info import loaded_programs
from tests.packets import udp_packet

Build = Callable[[str], Path]


def test_program_pin_survives_the_loading_object(bpf_object: Build, bpffs: Path) -> None:
    path = bpffs / "count_packets"
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        prog.pin(path)
        prog_id = prog.info().id
    assert prog_id in {p.id for p in loaded_programs()}  # the pin holds it
    again = SocketFilter.from_pin(path)
    assert again.info().id == prog_id
    assert again.test_run(data_in=udp_packet(b"abc")).return_value > 0
    again.close()
    path.unlink()
    assert prog_id not in {p.id for p in loaded_programs()}


def test_program_unpin(bpf_object: Build, bpffs: Path) -> None:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        with pytest.raises(PinError, match="not pinned"):
            prog.unpin()
        prog.pin(bpffs / "p")
        assert (bpffs / "p").exists()
        prog.unpin()
        assert not (bpffs / "p").exists()


def test_from_pin_checks_the_program_type(bpf_object: Build, bpffs: Path) -> None:
    from bpf4py.programs.base import Program
    from bpf4py.types import ProgramType

    class Xdp(Program):  # a stand-in class of another type
        PROGRAM_TYPE = ProgramType.XDP

    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets")
        prog.load()
        prog.pin(bpffs / "sf")
    with pytest.raises(ProgramError, match="SOCKET_FILTER program, not XDP"):
        Xdp.from_pin(bpffs / "sf")
    with pytest.raises(PinError, match="nothing is pinned at .*/missing") as exc:
        SocketFilter.from_pin(bpffs / "missing")
    assert isinstance(exc.value, FileNotFoundError)
    with pytest.raises(PinError, match="/tmp/not-bpffs is not on a bpffs"):
        SocketFilter.from_pin("/tmp/not-bpffs")


def test_pin_errors_say_what_is_at_the_path(bpf_object: Build, bpffs: Path) -> None:
    (bpffs / "dir").mkdir()
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        with pytest.raises(PinError, match=r"directory .*/nodir does not exist"):
            prog.pin(bpffs / "nodir" / "prog")
        with pytest.raises(PinError, match="is not on a bpffs"):
            prog.pin("/tmp/not-bpffs")
        prog.pin(bpffs / "prog")
    with pytest.raises(PinError, match="is a directory of the bpffs, not a pinned object"):
        SocketFilter.from_pin(bpffs / "dir")
    with pytest.raises(PinError, match=r"directory .*/nodir does not exist"):
        SocketFilter.from_pin(bpffs / "nodir" / "prog")
    # A file the kernel made on a bpffs that is no pinned object: the preloaded iterators'
    # maps.debug on the mount's root (kernels built with CONFIG_BPF_PRELOAD).
    debug = Path(fs.DEFAULT_BPFFS) / "maps.debug"
    if debug.name in os.listdir(debug.parent):  # not stat: Linux 6.1 refuses it (EPERM)
        with pytest.raises(PinError, match="is a file of the bpffs but not a pinned map"):
            SocketFilter.from_pin(debug)
    with SocketFilter.from_pin(bpffs / "prog") as again:
        assert again.info().name == "count_packets"


def test_from_program_info(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        info = prog.info()
        with SocketFilter.from_program_info(info, "again") as again:
            assert again.info().tag == info.tag
            assert again.name == "again"


def test_map_pin_and_second_process(bpf_object: Build, bpffs: Path) -> None:
    path = bpffs / "hash"
    with EbpfLoader().default_map_pin_directory(bpffs).load_file(bpf_object("maps")) as ebpf:
        m = ebpf.map("HASH", HashMap)
        m[1] = 11
        m.pin(path)
    code = (
        "import sys; from bpf4py import HashMap\n"
        f"m = HashMap.from_pin({str(path)!r})\n"
        "assert m[1] == 11, m[1]\n"
        "m[2] = 22\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with HashMap.from_pin(path) as m:
        assert dict(m.items()) == {1: 11, 2: 22}
    path.unlink()


def test_loader_map_pin_path_reuses_the_pinned_map(bpf_object: Build, bpffs: Path) -> None:
    loader = EbpfLoader().map_pin_path("HASH", bpffs / "shared").default_map_pin_directory(bpffs)
    with loader.load_file(bpf_object("maps")) as first:
        first.map("HASH")[7] = 70
    with loader.load_file(bpf_object("maps")) as second:
        assert second.map("HASH")[7] == 70  # reused, not recreated
        second.map("HASH").unpin()
    assert not (bpffs / "shared").exists()


def test_pin_by_name_uses_the_default_directory(bpf_object: Build, bpffs: Path) -> None:
    loader = EbpfLoader().default_map_pin_directory(bpffs)
    with loader.load_file(bpf_object("maps")) as first:
        assert (bpffs / "PINNED").exists()
        first.map("PINNED")[1] = 5
    with loader.load_file(bpf_object("maps")) as second:
        assert second.map("PINNED")[1] == 5


def test_pin_directory_not_on_bpffs(bpf_object: Build, tmp_path: Path) -> None:
    with pytest.raises(PinError, match="is not on a bpffs"):
        EbpfLoader().map_pin_path("HASH", tmp_path / "x").load_file(bpf_object("maps"))


def test_default_pin_directory_gets_bpffs_mounted(bpf_object: Build, tmp_path: Path) -> None:
    from bpf4py.fs import is_bpffs

    pins = tmp_path / "pins"
    assert not is_bpffs(str(pins))
    try:
        with EbpfLoader().default_map_pin_directory(pins).load_file(bpf_object("maps")):
            assert is_bpffs(str(pins))  # mounted by the loader
            assert (pins / "PINNED").exists()
    finally:
        subprocess.run(["umount", str(pins)], check=False)
