"""SocketFilter with real sockets on loopback: counting, dropping, replacing, detaching."""

from __future__ import annotations

import ctypes
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    ClosedError,
    Ebpf,
    EbpfLoader,
    NotLoadedError,
    ProgramError,
    SocketFilter,
    TestRunOptions,
    TestRunResult,
)
from tests.conftest import open_fd_count
from tests.packets import tcp_packet, udp_packet

UDP, TCP = 17, 6


class Counters(ctypes.Structure):
    _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


@pytest.fixture
def counter(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        yield ebpf


def udp_pair() -> tuple[socket.socket, socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.3)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return server, client


def send_udp(server: socket.socket, client: socket.socket, n: int, size: int) -> int:
    """Send n datagrams; return how many the server received."""
    for _ in range(n):
        client.sendto(b"x" * size, server.getsockname())
    got = 0
    try:
        while True:
            server.recv(65536)
            got += 1
    except (TimeoutError, socket.timeout):
        pass
    return got


def test_counts_udp_packets_and_bytes(counter: Ebpf) -> None:
    prog = counter.program("count_packets", SocketFilter)
    prog.load()
    server, client = udp_pair()
    with server, client:
        prog.attach(server)
        assert send_udp(server, client, 7, 100) == 7
    counts = counter.map("COUNTS").typed(value=Counters)
    udp = counts[UDP]
    assert udp.packets == 7
    # On a UDP socket the filter runs after the IP header is pulled: skb->len is the UDP
    # header (8) plus the payload (100).
    assert udp.bytes == 7 * 108
    assert counter.map("TOTALS")[0] == 7
    assert counter.map("TOTALS")[1] == 0


def test_counts_tcp_segments(counter: Ebpf) -> None:
    prog = counter.program("count_packets", SocketFilter)
    prog.load()
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        client = socket.create_connection(listener.getsockname())
        conn, _ = listener.accept()
        with client, conn:
            prog.attach(conn)
            client.sendall(b"a" * 1000)
            data = b""
            conn.settimeout(2)
            while len(data) < 1000:
                data += conn.recv(4096)
    tcp = counter.map("COUNTS").typed(value=Counters)[TCP]
    assert tcp.packets >= 1
    assert tcp.bytes >= 1000 + 40


def test_drop_protocol_global_drops_udp(bpf_object: Callable[[str], Path]) -> None:
    loader = EbpfLoader().override_global("drop_protocol", UDP)
    with loader.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        server, client = udp_pair()
        with server, client:
            prog.attach(server)
            assert send_udp(server, client, 5, 10) == 0
            SocketFilter.detach(server)
            assert send_udp(server, client, 3, 10) == 3
        totals = ebpf.map("TOTALS")
        assert (totals[0], totals[1]) == (5, 5)


def test_attachment_survives_the_program_object(bpf_object: Callable[[str], Path]) -> None:
    loader = EbpfLoader().override_global("drop_protocol", UDP)
    server, client = udp_pair()
    with server, client:
        with loader.load_file(bpf_object("packet_counter")) as ebpf:
            prog = ebpf.program("count_packets", SocketFilter)
            prog.load()
            prog.attach(server.fileno())  # an int fd works too
        # The Ebpf is closed and the program unloaded from this process: the socket still
        # holds the filter (socket filters are not tracked links).
        assert send_udp(server, client, 3, 10) == 0
        SocketFilter.detach(server)
        assert send_udp(server, client, 2, 10) == 2


def test_attach_replaces_the_current_filter(bpf_object: Callable[[str], Path]) -> None:
    dropping = EbpfLoader().override_global("drop_protocol", UDP)
    with dropping.load_file(bpf_object("packet_counter")) as drop, \
            Ebpf.load_file(bpf_object("packet_counter")) as count:
        dropper = drop.program("count_packets", SocketFilter)
        counter = count.program("count_packets", SocketFilter)
        dropper.load()
        counter.load()
        server, client = udp_pair()
        with server, client:
            dropper.attach(server)
            assert send_udp(server, client, 2, 10) == 0
            counter.attach(server)
            assert send_udp(server, client, 2, 10) == 2
        assert count.map("TOTALS")[0] == 2


def test_bad_input(counter: Ebpf, tmp_path: Path) -> None:
    prog = counter.program("count_packets", SocketFilter)
    server, client = udp_pair()
    with server, client:
        with pytest.raises(NotLoadedError, match="not loaded"):
            prog.attach(server)
        prog.load()
        with pytest.raises(ProgramError, match="already loaded"):
            prog.load()
        with pytest.raises(ProgramError) as exc:
            SocketFilter.detach(server)  # nothing attached
        assert exc.value.errno_name == "ENOENT"
    with pytest.raises(ClosedError, match="closed"):
        prog.attach(server)
    with pytest.raises(TypeError, match="fileno"):
        prog.attach("not a socket")
    with open(tmp_path / "file", "w") as f:
        with pytest.raises(ProgramError) as exc:
            prog.attach(f)
        assert exc.value.errno_name == "ENOTSOCK"
        before = open_fd_count()
        for _ in range(20):  # a descriptor that is not a socket costs no descriptor
            for call in (prog.attach, SocketFilter.detach):
                with pytest.raises(ProgramError, match="not a socket"):
                    call(f)
        assert open_fd_count() == before


def test_test_run_on_crafted_packets(counter: Ebpf) -> None:
    prog = counter.program("count_packets", SocketFilter)
    prog.load()
    udp = udp_packet(b"hello")
    result = prog.test_run(TestRunOptions(data_in=udp, repeat=1))
    # The filter returns skb->len: the packet minus the 14-byte Ethernet header.
    assert result.return_value == len(udp) - 14
    assert result.data_out is not None and result.data_out[14:] == udp[14:]
    result = prog.test_run(data_in=tcp_packet(b"x" * 10), repeat=5)
    assert result.return_value == len(tcp_packet(b"x" * 10)) - 14
    assert result.duration_ns >= 0
    opts = TestRunOptions(data_in=udp)
    for data in (bytearray(udp), memoryview(udp)):  # any buffer, not only bytes
        assert prog.test_run(opts._replace(data_in=data)).return_value == len(udp) - 14
    fast = prog.test_run(data_in=udp, data_out_size=0)  # a packet only: the short native call
    assert isinstance(fast, TestRunResult) and fast.data_out is None and fast.ctx_out is None
    assert fast.return_value == len(udp) - 14 and fast.duration_ns >= 0
    ctx = bytearray(192)  # struct __sk_buff in, and back out: mark (offset 8) survives
    ctx[8:12] = (77).to_bytes(4, "little")
    result = prog.test_run(data_in=udp, data_out_size=0, ctx_in=bytes(ctx), ctx_out_size=192)
    assert result.data_out is None and result.ctx_out is not None
    assert int.from_bytes(result.ctx_out[8:12], "little") == 77
    with pytest.raises(TypeError, match="not both"):
        prog.test_run(opts, repeat=3)  # never silently ignored
    with pytest.raises(ValueError, match="repeat must be >= 0"):
        prog.test_run(data_in=udp, repeat=-1)
    with pytest.raises(ValueError, match="'count_packets'.*data_out_size must be >= 0, got -1"):
        prog.test_run(data_in=udp, data_out_size=-1)
    with pytest.raises(TypeError, match="'count_packets': data_in and ctx_in take bytes"):
        prog.test_run(data_in="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="every other option an int"):
        prog.test_run(data_in=udp, repeat="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contiguous buffer"):
        prog.test_run(data_in=memoryview(udp * 2)[::2])
    with pytest.raises(TypeError, match="positional argument is a TestRunOptions, got bytes"):
        prog.test_run(udp)  # type: ignore[arg-type]
    for option in ({"repeat": 1 << 31}, {"flags": -1}, {"batch_size": 1 << 32}):
        with pytest.raises(OverflowError, match="'count_packets': an option out of range"):
            prog.test_run(data_in=udp, **option)  # type: ignore[arg-type]
    with pytest.raises(ProgramError, match="shorter than its minimum") as exc:
        prog.test_run(data_in=b"")
    assert exc.value.errno_name == "EINVAL"
    with pytest.raises(ProgramError, match="'count_packets'.*EINVAL.*shorter than its minimum"):
        prog.test_run(data_in=b"", data_out_size=0)
    counts = counter.map("COUNTS").typed(value=Counters)
    assert counts[UDP].packets == 5
    assert counts[TCP].packets == 5
    prog.unload()  # the short call without a descriptor says so (it passes the kernel -1)
    with pytest.raises(NotLoadedError, match="'count_packets' is not loaded"):
        prog.test_run(data_in=udp, data_out_size=0)


def test_test_run_with_drop_global(bpf_object: Callable[[str], Path]) -> None:
    with EbpfLoader().override_global("drop_protocol", TCP).load_file(
            bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        assert prog.test_run(data_in=tcp_packet(b"z")).return_value == 0
        assert prog.test_run(data_in=udp_packet(b"z")).return_value > 0
