"""Link lifetimes: `with`, unload(), Ebpf.close(), garbage collection and interpreter exit all
detach; pinned links survive the process and are re-adopted by another."""

from __future__ import annotations

import gc
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, Ebpf, PinnedLink
from bpf4py.info import loaded_links

pytestmark = pytest.mark.kernel
EGRESS = CgroupSkbAttachType.EGRESS
Build = Callable[[str], Path]


def attached_program_ids(cgroup: Path) -> set[int]:
    """Program ids attached to the cgroup's egress hook, as bpftool reports them."""
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    out = subprocess.run([bpftool, "-j", "cgroup", "show", str(cgroup)], check=True,
                         capture_output=True, text=True).stdout
    return {entry["id"] for entry in json.loads(out.strip() or "[]")
            if entry.get("attach_type") == "cgroup_inet_egress"}


def link_ids() -> set[int]:
    return {link.id for link in loaded_links()}


@pytest.mark.parametrize("mode", [CgroupAttachMode.SINGLE, CgroupAttachMode.ALLOW_MULTIPLE])
def test_every_end_of_life_detaches(bpf_object: Build, cgroup: Path,
                                    mode: CgroupAttachMode) -> None:
    data = bpf_object("cgroup_skb").read_bytes()
    def with_block(ebpf: Ebpf, prog: CgroupSkb) -> None:
        with prog.take_link(prog.attach(cgroup, EGRESS, mode)):
            pass

    def unload(ebpf: Ebpf, prog: CgroupSkb) -> None:
        prog.attach(cgroup, EGRESS, mode)
        prog.unload()

    def close(ebpf: Ebpf, prog: CgroupSkb) -> None:
        prog.attach(cgroup, EGRESS, mode)
        ebpf.close()

    ends = {"with": with_block, "unload": unload, "Ebpf.close": close}
    for name, end in ends.items():
        ebpf = Ebpf.load(data, "lifetimes")
        prog = ebpf.program("count_egress", CgroupSkb)
        prog.load()
        prog_id = prog.info().id
        end(ebpf, prog)
        assert prog_id not in attached_program_ids(cgroup), name
        ebpf.close()


def test_garbage_collected_link_detaches_with_a_warning(bpf_object: Build, cgroup: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with Ebpf.load_file(bpf_object("cgroup_skb")) as ebpf:
        prog = ebpf.program("count_egress", CgroupSkb)
        prog.load()
        link = prog.take_link(prog.attach(cgroup, EGRESS, CgroupAttachMode.SINGLE))
        assert prog.info().id in attached_program_ids(cgroup)
        with caplog.at_level(logging.WARNING, logger="bpf4py.links"):
            del link
            gc.collect()
        assert prog.info().id not in attached_program_ids(cgroup)
        assert any("garbage-collected" in r.getMessage() for r in caplog.records)


CHILD = """
import sys, time
from bpf4py import CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, Ebpf
ebpf = Ebpf.load_file(sys.argv[1])
prog = ebpf.program("count_egress", CgroupSkb)
prog.load()
prog.attach(sys.argv[2], CgroupSkbAttachType.EGRESS, CgroupAttachMode[sys.argv[3]])
if sys.argv[4]:
    generic = ebpf.program("generic", CgroupSkb)
    generic.load()
    generic.take_link(generic.attach(sys.argv[2], CgroupSkbAttachType.INGRESS,
                                     CgroupAttachMode.ALLOW_MULTIPLE)).pin(sys.argv[4])
print(prog.info().id, flush=True)
# exit without closing anything
"""


@pytest.mark.parametrize("mode", ["SINGLE", "ALLOW_MULTIPLE"])
def test_interpreter_exit_detaches(bpf_object: Build, cgroup: Path, mode: str) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(bpf_object("cgroup_skb")),
                          str(cgroup), mode, ""], check=True, capture_output=True,
                         text=True).stdout
    assert int(out) not in attached_program_ids(cgroup)


def test_pinned_link_survives_the_process_and_is_readopted(bpf_object: Build, cgroup: Path,
                                                           bpffs: Path) -> None:
    pin = bpffs / "ingress_link"
    subprocess.run([sys.executable, "-c", CHILD, str(bpf_object("cgroup_skb")), str(cgroup),
                    "ALLOW_MULTIPLE", str(pin)], check=True, capture_output=True)
    pinned = PinnedLink.from_pin(pin)
    link_id = pinned.info().id
    assert link_id in link_ids()  # the process is gone, the pinned link is not
    pinned.unpin().detach()
    assert link_id not in link_ids()


def test_pinned_program_survives_the_process_and_is_readopted(bpf_object: Build,
                                                              bpffs: Path) -> None:
    from bpf4py import SocketFilter
    from tests.packets import udp_packet

    pin = bpffs / "count_packets"
    code = ("import sys; from bpf4py import Ebpf\n"
            "ebpf = Ebpf.load_file(sys.argv[1])\n"
            "prog = ebpf.program('count_packets'); prog.load(); prog.pin(sys.argv[2])\n"
            "print(prog.info().id)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bpf_object("packet_counter")),
                          str(pin)], check=True, capture_output=True, text=True).stdout
    with SocketFilter.from_pin(pin) as prog:
        assert prog.info().id == int(out)  # the process is gone, the program is not
        packet = udp_packet(b"hi")
        assert prog.test_run(data_in=packet).return_value == len(packet) - 14
    pin.unlink()
