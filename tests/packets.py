"""Crafted packets for test_run: Ethernet + IPv4 + UDP/TCP with correct lengths."""

from __future__ import annotations

import struct


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(proto: int, payload: bytes, src: str = "127.0.0.1", dst: str = "127.0.0.1") -> bytes:
    import socket

    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def ethernet(l3: bytes, ethertype: int = 0x0800) -> bytes:
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", ethertype) + l3


def udp_packet(payload: bytes, sport: int = 1234, dport: int = 5678) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ethernet(ipv4(17, udp))


def tcp_packet(payload: bytes, sport: int = 1234, dport: int = 5678) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    return ethernet(ipv4(6, tcp))
