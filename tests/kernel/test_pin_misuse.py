"""Pins used wrongly: an object of another kind at the path, a second pin, a pin handed on
twice, a closed PinnedLink, NUL bytes in paths and names.  Each raises and touches nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    ClosedError,
    Ebpf,
    HashMap,
    LinkError,
    MapError,
    PinError,
    ProgramError,
    SocketFilter,
)
from bpf4py.links import FdLink, PinnedLink
from bpf4py.programs.cgroup import CgroupAttachMode
from bpf4py.programs.cgroup_skb import CgroupSkb, CgroupSkbAttachType
from tests.conftest import open_fd_count

Build = Callable[[str], Path]


@pytest.fixture
def pins(bpf_object: Build, bpffs: Path, cgroup: Path) -> Iterator[Path]:
    """``bpffs`` holding a pinned map (``map``), program (``prog``) and link (``link``)."""
    with Ebpf.load_file(bpf_object("cgroup_skb")) as ebpf:
        prog = ebpf.program("count_egress", CgroupSkb)
        prog.load()
        prog.pin(bpffs / "prog")
        ebpf.map("COUNTS").pin(bpffs / "map")
        link = prog.take_link(prog.attach(cgroup, CgroupSkbAttachType.EGRESS,
                                          CgroupAttachMode.ALLOW_MULTIPLE))
        assert isinstance(link, FdLink)
        link.pin(bpffs / "link").close()
    yield bpffs
    PinnedLink.from_pin(bpffs / "link").unpin().detach()


def test_from_pin_names_the_kind_found(pins: Path) -> None:
    before = open_fd_count()
    with pytest.raises(ProgramError, match="is a BPF map, not a BPF program"):
        SocketFilter.from_pin(pins / "map")
    with pytest.raises(ProgramError, match="is a BPF link, not a BPF program"):
        CgroupSkb.from_pin(pins / "link", CgroupSkbAttachType.EGRESS)
    with pytest.raises(MapError, match="is a BPF program, not a BPF map"):
        Array.from_pin(pins / "prog")
    for kind in ("map", "prog"):
        with pytest.raises(LinkError, match="not a BPF link"):
            PinnedLink.from_pin(pins / kind)
    assert open_fd_count() == before
    assert (pins / "map").exists() and (pins / "prog").exists()  # nothing unpinned
    with CgroupSkb.from_pin(pins / "prog", CgroupSkbAttachType.EGRESS) as prog, \
            PinnedLink.from_pin(pins / "link") as link:
        assert link.info().program_id == prog.info().id


def test_one_pin_per_object(pins: Path) -> None:
    with Array.from_pin(pins / "map") as counts:
        counts.pin(pins / "again")
        with pytest.raises(PinError, match=f"already pinned at {pins / 'again'}"):
            counts.pin(pins / "third")
        assert not (pins / "third").exists()
        counts.unpin()
        assert not (pins / "again").exists()


def test_a_pinned_link_hands_its_descriptor_on_once(pins: Path, cgroup: Path) -> None:
    with CgroupSkb.from_pin(pins / "prog", CgroupSkbAttachType.EGRESS) as prog:
        link = prog.take_link(prog.attach(cgroup, CgroupSkbAttachType.EGRESS,
                                          CgroupAttachMode.ALLOW_MULTIPLE))
        assert isinstance(link, FdLink)
        pinned = link.pin(pins / "second")
        with pytest.raises(LinkError, match="no longer owns the link"):
            link.pin(pins / "third")
        assert not (pins / "third").exists()
        pinned.close()
        with pytest.raises(ClosedError):
            pinned.unpin()
        assert (pins / "second").exists()  # a closed PinnedLink leaves the pin alone
        again = PinnedLink.from_pin(pins / "second")
        owner = again.unpin()
        assert not (pins / "second").exists()
        with pytest.raises(ClosedError):  # the FdLink owns the link now, not the PinnedLink
            again.info()
        assert owner.attached and owner.info().program_id == prog.info().id
        owner.detach()


def test_nul_bytes_in_paths_and_names_are_refused(pins: Path) -> None:
    with Array.from_pin(pins / "map") as counts:
        with pytest.raises(ValueError, match="contains a NUL byte"):
            counts.pin(f"{pins}/a\0b")
        assert not (pins / "a").exists()
    with pytest.raises(ValueError, match="contains a NUL byte"):
        SocketFilter.from_pin(f"{pins}/prog\0x")
    with pytest.raises(ValueError, match="contains a NUL byte"):
        HashMap.create(4, 4, 1, name="ab\0cd")
    with pytest.raises(ValueError, match="at most 15 bytes"):
        HashMap.create(4, 4, 1, name="a" * 16)
    with pytest.raises(MapError, match="letters, digits"):
        HashMap.create(4, 4, 1, name="bad name!")
    with HashMap.create(4, 4, 1, name="a" * 15) as m:
        assert m.info().name == "a" * 15
