"""SkSkb on real TCP connections over loopback: redirect (a proxy), drop, parser + verdict,
and the lifetime of its links (detach, unload, take_link, with, pin)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, EbpfLoader
from bpf4py.errors import InvalidMapType, LinkError, NotLoadedError, ProgramError
from bpf4py.links import FdLink, PinnedLink, ProgAttachLink
from bpf4py.maps import Array, HashMap
from bpf4py.maps.sock import SockHash, SockMap
from bpf4py.programs import sockmap_attach
from bpf4py.programs.sk_msg import SkMsg
from bpf4py.programs.sk_skb import SkSkb, SkSkbKind
from bpf4py.types import AttachType
from tests.kernel.test_sock_maps import (
    Conn,
    assert_nothing_arrives,
    link_ids_of,
    recv_exactly,
    sk_msg_obj,
    sk_skb_obj,
    tcp,
)
from tests.kernel_features import SOCKMAP_LINKS, requires

__all__ = ["sk_msg_obj", "sk_skb_obj", "tcp"]  # fixtures shared with test_sock_maps


def counts(ebpf: Ebpf) -> tuple[int, int]:
    """(messages, bytes) the counting verdicts saw."""
    c = ebpf.map("COUNTS", Array)
    return c[0], c[1]


def loaded(ebpf: Ebpf, name: str) -> SkSkb:
    prog = ebpf.program(name, SkSkb)
    prog.load()
    return prog


def test_kind_comes_from_the_section(sk_skb_obj: Ebpf) -> None:
    kinds = {name: prog.kind for name, prog in sk_skb_obj.programs.items()
             if isinstance(prog, SkSkb)}
    assert kinds == {
        "redirect_verdict": SkSkbKind.STREAM_VERDICT,
        "drop_verdict": SkSkbKind.STREAM_VERDICT,
        "count_verdict": SkSkbKind.STREAM_VERDICT,
        "fixed_parser": SkSkbKind.STREAM_PARSER,
        "count_any_verdict": SkSkbKind.VERDICT,
        "untyped_verdict": None,
    }
    assert SkSkb.MIN_KERNEL == "4.14"


def test_stream_verdict_redirects_between_connections(sk_skb_obj: Ebpf,
                                                      tcp: Callable[[], Conn]) -> None:
    """A proxy with no user-space copy: what client A sends to its peer goes out of B's server
    side, so client B reads it and A's server side never sees it."""
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = loaded(sk_skb_obj, "redirect_verdict")
    link_id = prog.attach(sockets)
    a, b = tcp(), tcp()
    sockets.set(0, a.server)
    sockets.set(1, b.server)  # redirect_index = 1

    a.client.sendall(b"proxied bytes")
    assert recv_exactly(b.client, 13) == b"proxied bytes"
    assert_nothing_arrives(a.server)
    assert counts(sk_skb_obj) == (1, 13)
    prog.detach(link_id)


def test_stream_verdict_drop(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    loaded(sk_skb_obj, "drop_verdict").attach(sockets)
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"dropped")
    assert_nothing_arrives(conn.server)
    assert counts(sk_skb_obj) == (1, 7)


def test_stream_parser_and_verdict_together(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    """The parser cuts the stream into 4-byte messages; the verdict runs once per message."""
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    parser, verdict = loaded(sk_skb_obj, "fixed_parser"), loaded(sk_skb_obj, "count_verdict")
    parser.attach(sockets)
    verdict.attach(sockets.fd)  # the map's descriptor works as well
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"abcdefghijkl")
    assert recv_exactly(conn.server, 12) == b"abcdefghijkl"  # SK_PASS delivers
    assert counts(sk_skb_obj)[0] == 3


def test_verdict_kind_without_parser(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    loaded(sk_skb_obj, "count_any_verdict").attach(sockets)
    with pytest.raises(LinkError, match="already attached"):  # verdict and stream verdict conflict
        loaded(sk_skb_obj, "count_verdict").attach(sockets)
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"hello")
    assert recv_exactly(conn.server, 5) == b"hello"
    assert counts(sk_skb_obj) == (1, 5)


def test_sockhash_target(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    prog = loaded(sk_skb_obj, "drop_verdict")
    with SockHash.create(4, 8, 4, name="skb_hash") as hashed:
        prog.attach(hashed)
        conn = tcp()
        hashed.insert(7, conn.server)
        conn.client.sendall(b"x")
        assert_nothing_arrives(conn.server)


# --- links -----------------------------------------------------------------------------------


@requires(SOCKMAP_LINKS)
def test_detach_and_unload_stop_the_program_for_sockets_added_later(
    sk_skb_obj: Ebpf, tcp: Callable[[], Conn]
) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = loaded(sk_skb_obj, "drop_verdict")
    prog_id = prog.info().id
    link_id = prog.attach(sockets)
    assert len(link_ids_of(prog_id)) == 1
    before = tcp()
    sockets.set(0, before.server)

    prog.detach(link_id)
    assert link_ids_of(prog_id) == []
    after = tcp()
    sockets.set(1, after.server)
    after.client.sendall(b"free")
    assert recv_exactly(after.server, 4) == b"free"
    # The kernel copied the program into the socket added while attached: it still drops.
    before.client.sendall(b"still dropped")
    assert_nothing_arrives(before.server)
    with pytest.raises(LinkError, match="no link"):
        prog.detach(link_id)

    prog.attach(sockets)
    assert len(link_ids_of(prog_id)) == 1
    prog.unload()
    assert link_ids_of(prog_id) == []
    sockets.clear_index(1)
    sockets.set(1, after.server)
    after.client.sendall(b"again")
    assert recv_exactly(after.server, 5) == b"again"


@requires(SOCKMAP_LINKS)
def test_taken_link_outlives_unload_until_closed(sk_skb_obj: Ebpf,
                                                 tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = loaded(sk_skb_obj, "drop_verdict")
    prog_id = prog.info().id
    link = prog.take_link(prog.attach(sockets))
    assert isinstance(link, FdLink)
    prog.unload()
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"x")
    assert_nothing_arrives(conn.server)  # the link keeps the program attached

    link.close()
    assert link_ids_of(prog_id) == [] and not link.attached
    sockets.clear_index(0)
    sockets.set(0, conn.server)
    conn.client.sendall(b"y")
    assert recv_exactly(conn.server, 1) == b"y"


@requires(SOCKMAP_LINKS)
def test_taken_link_detaches_at_the_end_of_a_with_block(sk_skb_obj: Ebpf,
                                                        tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = loaded(sk_skb_obj, "drop_verdict")
    prog_id = prog.info().id
    with prog.take_link(prog.attach(sockets)):
        assert len(link_ids_of(prog_id)) == 1
    assert link_ids_of(prog_id) == []
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"z")
    assert recv_exactly(conn.server, 1) == b"z"


@requires(SOCKMAP_LINKS)
def test_pinned_link_survives_the_object_and_is_readopted(bpf_object: Callable[[str], Path],
                                                          bpffs: Path,
                                                          tcp: Callable[[], Conn]) -> None:
    with Ebpf.load_file(bpf_object("sk_skb")) as ebpf:
        sockets = ebpf.take_map("SOCK_MAP")
        assert isinstance(sockets, SockMap)
        prog = loaded(ebpf, "drop_verdict")
        prog_id = prog.info().id
        link = prog.take_link(prog.attach(sockets))
        assert isinstance(link, FdLink)
        link.pin(bpffs / "drop_link").close()
    with sockets:
        conn = tcp()
        sockets.set(0, conn.server)
        conn.client.sendall(b"x")
        assert_nothing_arrives(conn.server)  # still attached: the pin holds the link

        pinned = PinnedLink.from_pin(bpffs / "drop_link")
        assert pinned.info().program_id == prog_id
        pinned.unpin().detach()
        assert link_ids_of(prog_id) == [] and not (bpffs / "drop_link").exists()


def test_prog_attach_fallback(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    """The pre-6.10 path (BPF_PROG_ATTACH), driven directly on this kernel."""
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = loaded(sk_skb_obj, "drop_verdict")
    link = sockmap_attach._prog_attach(prog, sockets.fd, AttachType.SK_SKB_STREAM_VERDICT,
                                       "drop_verdict to SOCK_MAP")
    assert isinstance(link, ProgAttachLink)
    prog.unload()  # the link holds its own program descriptor
    conn = tcp()
    sockets.set(0, conn.server)
    conn.client.sendall(b"x")
    assert_nothing_arrives(conn.server)
    link.detach()
    sockets.clear_index(0)
    sockets.set(0, conn.server)
    conn.client.sendall(b"y")
    assert recv_exactly(conn.server, 1) == b"y"


# --- pins and bad input ----------------------------------------------------------------------


def test_from_pin_needs_the_kind(sk_skb_obj: Ebpf, sk_msg_obj: Ebpf, bpffs: Path,
                                 tcp: Callable[[], Conn]) -> None:
    prog = loaded(sk_skb_obj, "drop_verdict")
    prog.pin(bpffs / "drop")
    msg = sk_msg_obj.program("drop_msg", SkMsg)
    msg.load()
    msg.pin(bpffs / "msg")
    with pytest.raises(ProgramError, match="SK_MSG program, not SK_SKB"):
        SkSkb.from_pin(bpffs / "msg", SkSkbKind.STREAM_VERDICT)
    with SkSkb.from_pin(bpffs / "drop", SkSkbKind.STREAM_VERDICT) as again:
        assert again.kind is SkSkbKind.STREAM_VERDICT
        sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
        again.attach(sockets)
        conn = tcp()
        sockets.set(0, conn.server)
        conn.client.sendall(b"x")
        assert_nothing_arrives(conn.server)
    with SkSkb.from_program_info(prog.info(), "by_id", SkSkbKind.STREAM_PARSER) as by_id:
        assert by_id.kind is SkSkbKind.STREAM_PARSER and by_id.info().id == prog.info().id
    prog.unpin()
    msg.unpin()


@requires(SOCKMAP_LINKS)
def test_attach_errors_leave_nothing_attached(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    prog = sk_skb_obj.program("drop_verdict", SkSkb)
    with pytest.raises(NotLoadedError, match="not loaded"):
        prog.attach(sockets)
    prog.load()
    prog_id = prog.info().id
    with pytest.raises(InvalidMapType, match="map 'COUNTS' is a ARRAY map"):
        prog.attach(sk_skb_obj.map("COUNTS"))
    with HashMap.create(4, 4, 1, name="plain_hash") as plain:
        with pytest.raises(InvalidMapType, match="map 'plain_hash' is a HASH map"):
            prog.attach(plain.fd)
    with socket.socket() as not_a_map, pytest.raises(InvalidMapType, match="not an open BPF map"):
        prog.attach(not_a_map)
    untyped = loaded(sk_skb_obj, "untyped_verdict")
    with pytest.raises(ProgramError, match="stream parser or a verdict"):
        untyped.attach(sockets)
    assert link_ids_of(prog_id) == [] and link_ids_of(untyped.info().id) == []

    prog.attach(sockets)
    with pytest.raises(LinkError, match="verdict program .* is already attached") as exc:
        prog.attach(sockets)
    assert exc.value.errno_name == "EBUSY"
    assert len(link_ids_of(prog_id)) == 1


def test_redirect_index_from_a_global(bpf_object: Callable[[str], Path],
                                      tcp: Callable[[], Conn]) -> None:
    """The same proxy with the target chosen at load time (index 3 instead of 1)."""
    with EbpfLoader().override_global("redirect_index", 3).load_file(
            bpf_object("sk_skb")) as ebpf:
        sockets = ebpf.map("SOCK_MAP", SockMap)
        loaded(ebpf, "redirect_verdict").attach(sockets)
        a, b, c = tcp(), tcp(), tcp()
        sockets.set(0, a.server)
        sockets.set(1, b.server)
        sockets.set(3, c.server)
        a.client.sendall(b"to c")
        assert recv_exactly(c.client, 4) == b"to c"
        assert_nothing_arrives(b.client)
