"""Live demo: count loopback packets per IP protocol with a socket filter, then drop UDP.

Run as root: ``python -m bpf4py.demo [--seconds N]`` (``make demo`` sets everything up).

1. compiles the bundled ``packet_counter.bpf.c`` with clang and loads it;
2. attaches it to a packet socket on ``lo`` and makes UDP, TCP and ICMP traffic on loopback,
   printing packets and bytes per protocol read live from the program's ``COUNTS`` map;
3. loads a second copy with the global ``drop_protocol = 17`` on a UDP server socket: the
   datagrams vanish until ``SocketFilter.detach`` clears the filter;
4. detaches and closes everything.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

from bpf4py import Array, Ebpf, EbpfLoader, HashMap, SocketFilter
from bpf4py.clang import compile_program
from bpf4py.demo import program_source

PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP"}
ETH_P_ALL = 0x0003


class Counters(ctypes.Structure):
    _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


def build() -> Path:
    """The demo's object, compiled into the user's cache directory, or into a temporary one
    where that is read-only (a VM sharing the host's root file system)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bpf4py"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        writable = os.access(cache, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        cache = Path(tempfile.gettempdir()) / f"bpf4py-{os.getuid()}"
    return compile_program(program_source(), cache / "packet_counter.bpf.o")


def make_traffic(stop: threading.Event) -> None:
    """UDP datagrams, a TCP stream and ICMP echoes on 127.0.0.1 until `stop` is set."""
    udp_server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_server.bind(("127.0.0.1", 0))
    udp_client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener = socket.create_server(("127.0.0.1", 0))
    tcp_client = socket.create_connection(listener.getsockname())
    tcp_server, _ = listener.accept()
    tcp_server.settimeout(0.01)
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    seq = 0
    with udp_server, udp_client, listener, tcp_client, tcp_server, icmp:
        while not stop.is_set():
            udp_client.sendto(b"u" * 64, udp_server.getsockname())
            udp_server.recv(2048)
            tcp_client.sendall(b"t" * 1400)
            try:
                tcp_server.recv(65536)
            except TimeoutError:
                pass
            seq += 1
            header = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xFFFF, seq & 0xFFFF)
            icmp.sendto(_icmp_checksummed(header + b"ping"), ("127.0.0.1", 0))
            time.sleep(0.005)


def _icmp_checksummed(packet: bytes) -> bytes:
    data = packet + (b"\0" if len(packet) % 2 else b"")
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total & 0xFFFF) + (total >> 16)
    total = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
    return packet[:2] + struct.pack("!H", total) + packet[4:]


def show(counts: HashMap, elapsed: float) -> None:
    rows = sorted(counts.items())
    print(f"  after {elapsed:4.1f}s:", "   ".join(
        f"{PROTOCOLS.get(proto, proto)}: {c.packets:6d} pkts {c.bytes:9d} B" for proto, c in rows
    ) or "(nothing yet)", flush=True)


def count_loopback(obj: Path, seconds: float) -> None:
    print("1) counting packets per protocol on lo with a socket filter on a packet socket")
    with Ebpf.load_file(obj) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        info = prog.info()
        print(f"   loaded {info.name!r}: id {info.id}, {info.xlated_size} bytes of BPF, "
              f"{info.verified_instruction_count} instructions verified")
        sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        with sniffer:
            sniffer.bind(("lo", 0))
            prog.attach(sniffer)
            counts = ebpf.map("COUNTS", HashMap).typed(value=Counters)
            stop = threading.Event()
            traffic = threading.Thread(target=make_traffic, args=(stop,), daemon=True)
            start = time.monotonic()
            traffic.start()
            try:
                while (elapsed := time.monotonic() - start) < seconds:
                    time.sleep(min(0.5, max(seconds - elapsed, 0.01)))
                    show(counts, time.monotonic() - start)
            finally:
                stop.set()
                traffic.join()
            SocketFilter.detach(sniffer)
        totals = ebpf.map("TOTALS", Array)
        print(f"   total packets seen by the filter: {totals[0]}")


def drop_udp(obj: Path) -> None:
    print("2) the same program with drop_protocol=17 on a UDP server socket")
    with EbpfLoader().override_global("drop_protocol", 17).load_file(obj) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with server, client:
            server.bind(("127.0.0.1", 0))
            server.settimeout(0.2)
            for attached in (True, False):
                if attached:
                    prog.attach(server)
                else:
                    SocketFilter.detach(server)
                for i in range(5):
                    client.sendto(b"hello %d" % i, server.getsockname())
                got = 0
                try:
                    while True:
                        server.recv(100)
                        got += 1
                except TimeoutError:
                    pass
                state = "attached" if attached else "detached"
                print(f"   filter {state}: sent 5 datagrams, received {got}")
        dropped = ebpf.map("TOTALS", Array)[1]
        print(f"   datagrams dropped by the program: {dropped}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpf4py.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to count")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the demo loads eBPF programs: run it as root", file=sys.stderr)
        return 1
    obj = build()
    print(f"compiled {program_source().name} -> {obj}")
    count_loopback(obj, args.seconds)
    drop_udp(obj)
    print("3) everything detached and closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
