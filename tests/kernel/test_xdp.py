"""Xdp on real frames (tests/bpf/xdp_basic.bpf.c) and on crafted ones (test_run).

Attaching needs the interface's network namespace and Python 3.11 cannot enter one, so each
traffic scenario is a module-level function run by ``tests.netns.run_in_netns`` in a child
Python inside namespace B of ``netns_pair``: it attaches to B's veth end, gets a UDP socket
living in namespace A (``socket_in``) and sends datagrams A -> B, which cross the veth and
meet the XDP program.  A failed assert in the child fails the test with its traceback.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    Ebpf,
    EbpfLoader,
    FdLink,
    LinkError,
    NotLoadedError,
    ProgramError,
)
from bpf4py.programs.xdp import (
    NetlinkXdpLink,
    Xdp,
    XdpAttachType,
    XdpFlags,
    attached_xdp_programs,
)
from tests.netns import (
    A_IP,
    B_IP,
    PORT,
    check_count,
    receive,
    run_in_netns,
    send,
    server,
    socket_in,
)
from tests.packets import udp_packet

COUNT, DROP, ECHO = range(3)  # COUNTS slots
XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3


# --- helpers shared by the scenarios (run inside namespace B) ---------------------------------


def open_object(path: str) -> Ebpf:
    return EbpfLoader().override_global("port", PORT).load_file(path)


def loaded(ebpf: Ebpf, name: str) -> Xdp:
    prog = ebpf.program(name, Xdp)
    prog.load()
    return prog


def count(ebpf: Ebpf, slot: int) -> int:
    value: int = ebpf.map("COUNTS", Array)[slot]
    return value



# --- scenarios --------------------------------------------------------------------------------


def count_and_detach(path: str, ns_a: str, vb: str) -> None:
    """DEFAULT flags (the veth driver's native mode): frames are counted and passed on;
    after detach() the program no longer runs."""
    with open_object(path) as ebpf, server() as srv, server(PORT + 1) as other, \
            socket_in(ns_a, A_IP) as client:
        prog = loaded(ebpf, "count_udp")
        link_id = prog.attach(vb)
        programs = attached_xdp_programs(vb)
        assert programs.drv_program_id == prog.info().id == programs.program_id, programs
        assert programs.skb_program_id == 0, programs
        for i in range(3):
            send(client, srv, b"counted %d" % i, arrives=True)
        send(client, other, b"other port", arrives=True)
        check_count(ebpf, COUNT, 3)
        prog.detach(link_id)
        assert attached_xdp_programs(vb).program_id == 0
        send(client, srv, b"after detach", arrives=True)
        check_count(ebpf, COUNT, 3)
        with pytest.raises(LinkError):
            prog.detach(link_id)


def drop_take_link_unload_with(path: str, ns_a: str, vb: str) -> None:
    """SKB_MODE by ifindex: frames to PORT are dropped.  A taken link outlives unload() and
    detaches on close(); unload() and leaving ``with`` detach tracked links."""
    ifindex = socket.if_nametoindex(vb)
    with open_object(path) as ebpf, server() as srv, socket_in(ns_a, A_IP) as client:
        prog = loaded(ebpf, "drop_udp")
        prog_id = prog.info().id
        link = prog.take_link(prog.attach(ifindex, XdpFlags.SKB_MODE))
        assert isinstance(link, FdLink) and link.info().program_id == prog_id
        assert attached_xdp_programs(ifindex).skb_program_id == prog_id
        send(client, srv, b"dropped", arrives=False)
        check_count(ebpf, DROP, 1)
        prog.unload()  # the taken link keeps the program attached
        send(client, srv, b"still dropped", arrives=False)
        check_count(ebpf, DROP, 2)
        with link:
            pass
        assert not link.attached and attached_xdp_programs(vb).program_id == 0
        send(client, srv, b"link closed", arrives=True)

        prog.load()
        prog.attach(vb, XdpFlags.SKB_MODE)
        send(client, srv, b"dropped again", arrives=False)
        prog.unload()
        assert attached_xdp_programs(vb).program_id == 0
        send(client, srv, b"unloaded", arrives=True)

        with loaded(ebpf, "drop_udp") as again:
            again.attach(vb, XdpFlags.SKB_MODE)
            send(client, srv, b"dropped in with", arrives=False)
        assert attached_xdp_programs(vb).program_id == 0
        send(client, srv, b"after with", arrives=True)
        check_count(ebpf, DROP, 4)


def echo_with_xdp_tx(path: str, ns_a: str, vb: str) -> None:
    """XDP_TX: the program swaps addresses and sends each datagram back out of the veth."""
    with open_object(path) as ebpf, server() as srv, \
            socket_in(ns_a, A_IP, no_check=True) as client:
        prog = loaded(ebpf, "echo_udp")
        prog.attach(vb, XdpFlags.SKB_MODE)
        client.sendto(b"echo me", (B_IP, PORT))
        got = receive(client)
        assert got == (b"echo me", (B_IP, PORT)), got
        assert receive(srv, 0.3) is None
        check_count(ebpf, ECHO, 1)


def netlink_attachments(path: str, ns_a: str, vb: str) -> None:
    """UPDATE_IF_NOEXIST and REPLACE attach over netlink (no BPF link); the kernel refuses a
    second program in the same mode either way; detach, take_link and unload still work."""
    with open_object(path) as ebpf, server() as srv, socket_in(ns_a, A_IP) as client:
        drop, counter = loaded(ebpf, "drop_udp"), loaded(ebpf, "count_udp")
        flags = XdpFlags.UPDATE_IF_NOEXIST | XdpFlags.SKB_MODE
        link = drop.take_link(drop.attach(vb, flags))
        assert isinstance(link, NetlinkXdpLink)
        assert attached_xdp_programs(vb).skb_program_id == drop.info().id
        send(client, srv, b"dropped", arrives=False)

        with pytest.raises(ProgramError) as exc:
            counter.attach(vb, flags)
        assert exc.value.errno == errno.EBUSY and "already runs" in str(exc.value)
        with pytest.raises(LinkError) as link_exc:
            counter.attach(vb, XdpFlags.SKB_MODE)
        assert link_exc.value.errno == errno.EBUSY and vb in str(link_exc.value)
        with pytest.raises(ProgramError) as exc:
            counter.attach(vb, XdpFlags.REPLACE | XdpFlags.SKB_MODE)
        assert exc.value.errno == errno.EEXIST

        link.detach()
        link.detach()  # idempotent
        assert attached_xdp_programs(vb).program_id == 0
        send(client, srv, b"passes", arrives=True)

        counter.attach(vb, XdpFlags.REPLACE | XdpFlags.SKB_MODE)  # nothing attached: fine
        assert attached_xdp_programs(vb).skb_program_id == counter.info().id
        send(client, srv, b"counted", arrives=True)
        check_count(ebpf, COUNT, 1)
        counter.unload()
        assert attached_xdp_programs(vb).program_id == 0


def hw_mode_error_is_the_links_own(path: str, ns_a: str, vb: str) -> None:
    """On a kernel with XDP links (5.9+), a link the kernel refuses is the error: no netlink
    attempt that would hide it (veth cannot offload: EINVAL)."""
    with open_object(path) as ebpf:
        prog = loaded(ebpf, "count_udp")
        with pytest.raises(LinkError) as exc:
            prog.attach(vb, XdpFlags.HW_MODE)
        assert exc.value.errno == errno.EINVAL
        message = str(exc.value)
        assert "creating a BPF link" in message and "netlink" not in message
        assert "HW_MODE needs a NIC" in message
        assert attached_xdp_programs(vb).program_id == 0


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xdp_object(bpf_object: Callable[[str], Path]) -> str:
    return str(bpf_object("xdp_basic"))


@pytest.fixture
def veth(netns_pair: tuple[str, str]) -> tuple[str, str]:
    """(namespace A, the veth end in namespace B); the scenarios run in B."""
    ns_a, ns_b = netns_pair
    return ns_a, "vb" + ns_b.rsplit("-", 1)[1]


@pytest.mark.parametrize("scenario", [count_and_detach, drop_take_link_unload_with,
                                      echo_with_xdp_tx, netlink_attachments,
                                      hw_mode_error_is_the_links_own],
                         ids=lambda f: f.__name__)
def test_on_veth(scenario: Callable[[str, str, str], None], xdp_object: str,
                 netns_pair: tuple[str, str], veth: tuple[str, str]) -> None:
    run_in_netns(netns_pair[1], scenario, xdp_object, *veth)


@pytest.fixture
def ebpf(xdp_object: str) -> Iterator[Ebpf]:
    with open_object(xdp_object) as loaded_object:
        yield loaded_object


def test_sections_set_the_expected_attach_type(ebpf: Ebpf) -> None:
    assert ebpf.program("count_udp", Xdp).expected_attach_type is XdpAttachType.INTERFACE
    devmap = loaded(ebpf, "devmap_pass")
    assert devmap.expected_attach_type is XdpAttachType.DEVMAP
    with pytest.raises(ProgramError, match="loaded for DEVMAP entries.*xdp/devmap"):
        devmap.attach("lo")


def test_attach_errors(ebpf: Ebpf) -> None:
    prog = ebpf.program("drop_udp", Xdp)
    with pytest.raises(NotLoadedError):
        prog.attach("lo")
    prog.load()
    with pytest.raises(ProgramError, match="no network interface named 'nosuchif0'") as exc:
        prog.attach("nosuchif0")
    assert exc.value.errno == errno.ENODEV
    with pytest.raises(ProgramError) as exc:
        prog.attach(0x7FFFFFF0)
    assert exc.value.errno == errno.ENODEV
    assert "no network interface with index 2147483632" in str(exc.value)
    with pytest.raises(ValueError, match="unknown XDP flags 0x40"):
        prog.attach("lo", XdpFlags(0x40) | XdpFlags.SKB_MODE)
    with pytest.raises(ValueError, match="at most one of"):
        prog.attach("lo", XdpFlags.SKB_MODE | XdpFlags.DRV_MODE)
    with pytest.raises(ValueError, match="not a valid interface index"):
        prog.attach(-1)
    with pytest.raises(TypeError):
        prog.attach(1.5)  # type: ignore[arg-type]
    with pytest.raises(ProgramError, match="nosuchif0"):
        attached_xdp_programs("nosuchif0")


def test_test_run_on_crafted_frames(ebpf: Ebpf) -> None:
    drop = loaded(ebpf, "drop_udp")
    assert drop.test_run(data_in=udp_packet(b"x", dport=PORT)).return_value == XDP_DROP
    assert drop.test_run(data_in=udp_packet(b"x", dport=PORT + 1)).return_value == XDP_PASS
    assert drop.test_run(data_in=b"\0" * 14).return_value == XDP_PASS  # too short for UDP
    result = drop.test_run(data_in=udp_packet(b"x", dport=PORT), repeat=50)
    assert result.return_value == XDP_DROP and count(ebpf, DROP) == 51

    echo = loaded(ebpf, "echo_udp")
    frame = udp_packet(b"payload", sport=1234, dport=PORT)
    out = echo.test_run(data_in=frame)
    assert out.return_value == XDP_TX and out.data_out is not None
    assert out.data_out[0:6] == frame[6:12] and out.data_out[6:12] == frame[0:6]
    assert out.data_out[26:30] == frame[30:34] and out.data_out[30:34] == frame[26:30]
    assert struct.unpack("!HH", out.data_out[34:38]) == (PORT, 1234)
    assert out.data_out[38:] == frame[38:]


def test_pin_and_from_pin_keep_the_attach_type(ebpf: Ebpf, bpffs: Path) -> None:
    devmap = loaded(ebpf, "devmap_pass")
    devmap.pin(bpffs / "devmap_pass")
    counter = loaded(ebpf, "count_udp")
    counter.pin(bpffs / "count_udp")
    with Xdp.from_pin(bpffs / "devmap_pass", XdpAttachType.DEVMAP) as pinned:
        assert pinned.expected_attach_type is XdpAttachType.DEVMAP
        with pytest.raises(ProgramError, match="DEVMAP entries"):
            pinned.attach("lo")
    with Xdp.from_pin(bpffs / "count_udp") as pinned:
        assert pinned.expected_attach_type is XdpAttachType.INTERFACE
        assert pinned.test_run(data_in=udp_packet(b"x", dport=PORT)).return_value == XDP_PASS
    check_count(ebpf, COUNT, 1)
