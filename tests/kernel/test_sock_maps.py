"""SockMap and SockHash with established TCP connections on 127.0.0.1.

Also the helpers the SkSkb/SkMsg tests share (``tcp`` fixture, receive helpers, link lookup).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from bpf4py import Ebpf
from bpf4py.errors import (
    ClosedError,
    IndexOutOfBounds,
    InvalidKeySize,
    InvalidMapType,
    KeyNotFound,
    MapError,
)
from bpf4py.info import loaded_links
from bpf4py.maps import Array
from bpf4py.maps.sock import SockHash, SockMap
from bpf4py.types import MapType

TIMEOUT = 0.3  # seconds a test waits for data that should (or should not) arrive
SO_COOKIE = 57
EOPNOTSUPP = 95


class Conn(NamedTuple):
    """An established TCP connection: the connecting side and the accepted side."""

    client: socket.socket
    server: socket.socket


@pytest.fixture
def tcp() -> Iterator[Callable[[], Conn]]:
    """``tcp()`` makes an established TCP connection on 127.0.0.1; all closed afterwards."""
    listener = socket.create_server(("127.0.0.1", 0))
    made: list[socket.socket] = []

    def connect() -> Conn:
        client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        made.append(client)
        server, _ = listener.accept()
        made.append(server)
        server.settimeout(TIMEOUT)
        return Conn(client, server)

    yield connect
    for s in made:
        s.close()
    listener.close()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """``n`` bytes from ``sock`` (raises TimeoutError when they do not all arrive in time)."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def assert_nothing_arrives(sock: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        sock.recv(100)


def link_ids_of(program_id: int) -> list[int]:
    """Ids of the BPF links in the kernel that run program ``program_id``."""
    return [link.id for link in loaded_links() if link.program_id == program_id]


def port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def cookie(sock: socket.socket) -> int:
    return int.from_bytes(sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8), "little")


@pytest.fixture
def sk_skb_obj(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("sk_skb")) as ebpf:
        yield ebpf


@pytest.fixture
def sk_msg_obj(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("sk_msg")) as ebpf:
        yield ebpf


# --- SockMap -----------------------------------------------------------------------------------


def test_loader_types_socket_maps(sk_skb_obj: Ebpf, sk_msg_obj: Ebpf) -> None:
    assert isinstance(sk_skb_obj.map("SOCK_MAP"), SockMap)
    assert isinstance(sk_msg_obj.map("INTERCEPT_EGRESS"), SockHash)
    assert SockMap.MIN_KERNEL == "4.14" and SockHash.MIN_KERNEL == "4.18"


def test_sockmap_set_indices_items_clear(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    a, b = tcp(), tcp()
    assert list(sockets.indices()) == []
    sockets.set(0, a.server)
    sockets.set(2, b.client)
    assert list(sockets.indices()) == [0, 2]
    assert dict(sockets.items()) == {0: cookie(a.server), 2: cookie(b.client)}
    assert sockets.get(2) == sockets[2] == cookie(b.client)
    # Array-like: every index is a key, whether or not it holds a socket.
    assert len(sockets) == 4 and list(sockets) == [0, 1, 2, 3] and 1 in sockets

    sockets.set(2, a.client)  # flags 0 replaces
    assert sockets.get(2) == cookie(a.client)
    sockets.clear_index(0)
    assert list(sockets.indices()) == [2]
    del sockets[2]
    assert list(sockets.indices()) == []
    with pytest.raises(KeyNotFound, match="index 0 holds no socket"):
        sockets.clear_index(0)
    with pytest.raises(KeyNotFound):
        sockets.get(1)


def test_sockmap_takes_fds_and_fileno_objects(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    conn = tcp()

    class HasFileno:
        def fileno(self) -> int:
            return conn.client.fileno()

    sockets.set(1, conn.server.fileno())
    sockets[3] = HasFileno()
    assert dict(sockets.items()) == {1: cookie(conn.server), 3: cookie(conn.client)}


def test_sockmap_flags(sk_skb_obj: Ebpf, tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    conn = tcp()
    sockets.set(0, conn.client)
    with pytest.raises(MapError) as exc:
        sockets.set(0, conn.server, flags=1)  # BPF_NOEXIST
    assert exc.value.errno_name == "EEXIST"
    assert sockets.get(0) == cookie(conn.client)


def test_sockmap_index_out_of_range_fails_before_the_syscall(
    sk_skb_obj: Ebpf, tcp: Callable[[], Conn]
) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    conn = tcp()
    for call in (lambda: sockets.set(4, conn.client), lambda: sockets.clear_index(4),
                 lambda: sockets.get(7)):
        with pytest.raises(IndexOutOfBounds, match="index .* out of bounds") as exc:
            call()
        assert exc.value.errno is None
    assert list(sockets.indices()) == []


def test_sockmap_rejects_closed_and_unconnected_sockets(sk_skb_obj: Ebpf) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    closed = socket.socket()
    closed.close()
    with pytest.raises(ClosedError, match="adding a socket to map 'SOCK_MAP'"):
        sockets.set(0, closed)
    with socket.socket() as unconnected:
        with pytest.raises(MapError, match="connect\\(\\) the socket first") as exc:
            sockets.set(0, unconnected)
    assert exc.value.errno == EOPNOTSUPP
    assert list(sockets.indices()) == []


def test_sockmap_with_4_byte_values_cannot_be_read(tcp: Callable[[], Conn]) -> None:
    with SockMap.create(4, 4, 2, name="fd_values") as sockets:
        conn = tcp()
        sockets.set(1, conn.client)  # updates take the descriptor as a u32
        sockets.clear_index(1)
        sockets.set(1, conn.client)
        for call in (lambda: list(sockets.indices()), lambda: sockets.get(1)):
            with pytest.raises(MapError, match="only for maps with 8-byte values") as exc:
                call()
            assert exc.value.errno is None and exc.value.hint


def test_closing_a_socket_removes_it_from_the_map(sk_skb_obj: Ebpf,
                                                  tcp: Callable[[], Conn]) -> None:
    sockets = sk_skb_obj.map("SOCK_MAP", SockMap)
    conn = tcp()
    sockets.set(0, conn.server)
    sockets.set(1, conn.client)
    conn.client.close()
    assert list(sockets.indices()) == [0]


def test_sockmap_class_refuses_other_map_types(bpffs: Path) -> None:
    with Array.create(4, 8, 2, name="not_sockets") as array:
        array.pin(bpffs / "array")
        with pytest.raises(InvalidMapType, match="ARRAY; SockMap takes SOCKMAP"):
            SockMap.from_pin(bpffs / "array")


# --- SockHash ----------------------------------------------------------------------------------


def test_sockhash_insert_get_keys_items_remove(sk_msg_obj: Ebpf,
                                               tcp: Callable[[], Conn]) -> None:
    hashed = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    a, b = tcp(), tcp()
    hashed.insert(port(a.client), a.client)
    hashed[port(b.client)] = b.client
    assert sorted(hashed.keys()) == sorted([port(a.client), port(b.client)]) == sorted(hashed)
    assert dict(hashed.items()) == {port(a.client): cookie(a.client),
                                    port(b.client): cookie(b.client)}
    assert hashed.get(port(a.client)) == hashed[port(a.client)] == cookie(a.client)
    assert port(a.client) in hashed and 1 not in hashed and len(hashed) == 2

    hashed.remove(port(a.client))
    del hashed[port(b.client)]
    assert len(hashed) == 0 and list(hashed.items()) == []
    with pytest.raises(KeyNotFound, match="has no key"):
        hashed.get(port(a.client))
    with pytest.raises(KeyNotFound):
        hashed.remove(port(a.client))
    with pytest.raises(KeyError):  # KeyNotFound is a KeyError, for dict-style code
        del hashed[port(b.client)]


def test_sockhash_wrong_key_size_and_closed_socket(sk_msg_obj: Ebpf,
                                                   tcp: Callable[[], Conn]) -> None:
    hashed = sk_msg_obj.map("INTERCEPT_EGRESS", SockHash)
    conn = tcp()
    with pytest.raises(InvalidKeySize, match="key is 2 bytes, the map's key size is 4"):
        hashed.insert(b"\x01\x02", conn.client)
    with pytest.raises(InvalidKeySize):
        hashed.get(b"\x00" * 8)
    conn.client.close()
    with pytest.raises(ClosedError):
        hashed.insert(1, conn.client)
    assert len(hashed) == 0


def test_sockhash_keys_of_any_size_and_pin(bpffs: Path, tcp: Callable[[], Conn]) -> None:
    conn = tcp()
    with SockHash.create(16, 8, 4, name="by_name") as hashed:
        assert hashed.info().map_type == MapType.SOCKHASH
        hashed.insert(b"backend-0".ljust(16, b"\0"), conn.server)
        hashed.pin(bpffs / "by_name")
        with SockHash.from_pin(bpffs / "by_name") as again:
            assert dict(again.items()) == {b"backend-0".ljust(16, b"\0"): cookie(conn.server)}
        hashed.unpin()
    assert not (bpffs / "by_name").exists()
