"""SkMsg on real TCP connections over loopback: aya's scenario (a SockHash keyed by port,
a client's writes intercepted), counting, dropping, redirecting, and its links' lifetime."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, EbpfLoader
from bpf4py.errors import InvalidMapType, LinkError, NotLoadedError
from bpf4py.links import FdLink, PinnedLink
from bpf4py.maps import HashMap
from bpf4py.maps.sock import SockHash, SockMap
from bpf4py.programs.sk_msg import SkMsg
from tests.kernel.test_sock_maps import (
    Conn,
    assert_nothing_arrives,
    link_ids_of,
    port,
    recv_exactly,
    sk_msg_obj,
    tcp,
)
from tests.kernel_features import SOCKMAP_LINKS, requires

__all__ = ["sk_msg_obj", "tcp"]  # fixtures shared with test_sock_maps


class Counters(ctypes.Structure):
    _fields_ = [("messages", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


def loaded(ebpf: Ebpf, name: str) -> SkMsg:
    prog = ebpf.program(name, SkMsg)
    prog.load()
    return prog


def counters(ebpf: Ebpf) -> dict[int, tuple[int, int]]:
    """Local port -> (messages, bytes) that count_msg saw."""
    table = ebpf.map("COUNTS", HashMap).typed(value=Counters)
    return {p: (c.messages, c.bytes) for p, c in table.items()}


def drop_is_active(conn: Conn) -> bool:
    """Whether an SK_DROP program runs on the client: its send fails with EACCES."""
    try:
        conn.client.sendall(b"probe")
    except PermissionError:
        assert_nothing_arrives(conn.server)
        return True
    assert recv_exactly(conn.server, 5) == b"probe"
    return False


def test_seed_scenario_counts_bytes_per_message(sk_msg_obj: Ebpf,
                                                tcp: Callable[[], Conn]) -> None:
    intercept_egress = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    prog = loaded(sk_msg_obj, "count_msg")
    prog.attach(intercept_egress.fd)  # aya attaches with the map's descriptor
    conn = tcp()
    intercept_egress.insert(port(conn.client), conn.client)

    conn.client.sendall(b"foo")  # the write is intercepted
    conn.client.sendall(b"hello world!")
    assert recv_exactly(conn.server, 15) == b"foohello world!"  # SK_PASS delivers
    assert counters(sk_msg_obj) == {port(conn.client): (2, 15)}
    conn.server.sendall(b"not in the map")
    assert recv_exactly(conn.client, 14) == b"not in the map"
    assert counters(sk_msg_obj) == {port(conn.client): (2, 15)}


def test_drop_fails_the_write_with_eacces(sk_msg_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    intercept_egress = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    loaded(sk_msg_obj, "drop_msg").attach(intercept_egress)
    conn = tcp()
    intercept_egress.insert(port(conn.client), conn.client)
    with pytest.raises(PermissionError) as exc:
        conn.client.send(b"dropped")
    assert exc.value.errno == 13  # EACCES
    assert_nothing_arrives(conn.server)


def test_redirect_to_another_socket(bpf_object: Callable[[str], Path],
                                    tcp: Callable[[], Conn]) -> None:
    """What A's client writes goes out of B's client instead: B's server reads it."""
    a, b = tcp(), tcp()
    with EbpfLoader().override_global("redirect_port", port(b.client)).load_file(
            bpf_object("sk_msg")) as ebpf:
        intercept_egress = ebpf.map("INTERCEPT_EGRESS", SockHash)
        loaded(ebpf, "redirect_msg").attach(intercept_egress)
        intercept_egress.insert(port(a.client), a.client)
        intercept_egress.insert(port(b.client), b.client)
        a.client.sendall(b"via b")
        assert recv_exactly(b.server, 5) == b"via b"
        assert_nothing_arrives(a.server)


def test_sockmap_target(sk_msg_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    prog = loaded(sk_msg_obj, "drop_msg")
    with SockMap.create(4, 8, 2, name="msg_array") as sockets:
        prog.attach(sockets)
        conn = tcp()
        sockets.set(0, conn.client)
        assert drop_is_active(conn)


# --- links -----------------------------------------------------------------------------------


@requires(SOCKMAP_LINKS)
def test_detach_unload_take_link_and_with(sk_msg_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    intercept_egress = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    prog = loaded(sk_msg_obj, "drop_msg")
    prog_id = prog.info().id

    def fresh_socket_dropped() -> bool:
        conn = tcp()
        intercept_egress.insert(port(conn.client), conn.client)
        return drop_is_active(conn)

    link_id = prog.attach(intercept_egress)
    assert len(link_ids_of(prog_id)) == 1 and fresh_socket_dropped()
    prog.detach(link_id)
    assert link_ids_of(prog_id) == [] and not fresh_socket_dropped()

    with prog.take_link(prog.attach(intercept_egress)) as link:
        assert isinstance(link, FdLink) and fresh_socket_dropped()
    assert link_ids_of(prog_id) == [] and not fresh_socket_dropped()

    prog.attach(intercept_egress)
    prog.unload()
    assert link_ids_of(prog_id) == [] and not fresh_socket_dropped()

    prog.load()  # a taken link outlives unload() until it is closed
    taken = prog.take_link(prog.attach(intercept_egress))
    prog.unload()
    assert fresh_socket_dropped()
    taken.close()
    assert not fresh_socket_dropped()


@requires(SOCKMAP_LINKS)
def test_pinned_link_readopted_and_detached(sk_msg_obj: Ebpf, bpffs: Path,
                                            tcp: Callable[[], Conn]) -> None:
    intercept_egress = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    prog = loaded(sk_msg_obj, "drop_msg")
    prog_id = prog.info().id
    link = prog.take_link(prog.attach(intercept_egress))
    assert isinstance(link, FdLink)
    link.pin(bpffs / "msg_link").close()
    prog.unload()
    conn = tcp()
    intercept_egress.insert(port(conn.client), conn.client)
    assert drop_is_active(conn)

    pinned = PinnedLink.from_pin(bpffs / "msg_link")
    assert pinned.info().program_id == prog_id
    pinned.unpin().detach()
    assert link_ids_of(prog_id) == [] and not (bpffs / "msg_link").exists()
    other = tcp()
    intercept_egress.insert(port(other.client), other.client)
    assert not drop_is_active(other)


@requires(SOCKMAP_LINKS)
def test_attach_errors(sk_msg_obj: Ebpf) -> None:
    intercept_egress = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    prog = sk_msg_obj.program("count_msg", SkMsg)
    with pytest.raises(NotLoadedError):
        prog.attach(intercept_egress)
    prog.load()
    with pytest.raises(InvalidMapType, match="map 'COUNTS' is a HASH map"):
        prog.attach(sk_msg_obj.map("COUNTS").fd)
    assert link_ids_of(prog.info().id) == []
    prog.attach(intercept_egress)
    with pytest.raises(LinkError, match="a sk_msg_verdict program is already attached") as exc:
        loaded(sk_msg_obj, "drop_msg").attach(intercept_egress)
    assert exc.value.errno_name == "EBUSY"
    assert SkMsg.MIN_KERNEL == "4.17"


def test_program_pin_from_pin_from_program_info_and_info(sk_msg_obj: Ebpf, bpffs: Path,
                                                         tcp: Callable[[], Conn]) -> None:
    from bpf4py import ProgramType

    prog = loaded(sk_msg_obj, "drop_msg")
    info = prog.info()
    assert info.program_type == ProgramType.SK_MSG and info.name == "drop_msg"
    prog.pin(bpffs / "drop_msg")
    prog.unload()  # the pin keeps the program in the kernel
    hash_map = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    with SkMsg.from_pin(bpffs / "drop_msg") as pinned:
        assert pinned.info().id == info.id
        link_id = pinned.attach(hash_map)
        conn = tcp()
        hash_map.insert(port(conn.client), conn.client)
        assert drop_is_active(conn)  # the re-adopted program runs
        pinned.detach(link_id)
    with SkMsg.from_program_info(info, "again") as again:
        assert again.info().tag == info.tag
    (bpffs / "drop_msg").unlink()
