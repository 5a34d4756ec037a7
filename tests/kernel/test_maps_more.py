"""LpmTrie, Queue, Stack and BloomFilter against the kernel, driven from BPF programs; signed
int keys and values and bytes-like per-CPU values on real maps."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Iterator
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    Btf,
    Ebpf,
    HashMap,
    InvalidKeySize,
    InvalidValueSize,
    KeyNotFound,
    LruPerCpuHashMap,
    MapError,
    MapType,
    PerCpuArray,
    PerCpuHashMap,
    SocketFilter,
)
from bpf4py.maps import possible_cpus
from bpf4py.maps.bloom_filter import BloomFilter
from bpf4py.maps.lpm_trie import LpmTrie
from bpf4py.maps.queue_stack import Queue, Stack
from tests.packets import ethernet, ipv4

NO_VALUE = 0xFFFFFFFF
ROUTE_SLOT, BLOOM_SLOT, SEQ_SLOT, POPPED_SLOT = range(4)


def udp_to(dst: str, dport: int = 5678) -> bytes:
    return ethernet(ipv4(17, struct.pack("!HHHH", 1234, dport, 8, 0), dst=dst))


@pytest.fixture
def obj(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("maps_more")) as ebpf:
        for prog in ebpf.programs.values():
            prog.load()
        yield ebpf


def run(ebpf: Ebpf, program: str, packet: bytes = udp_to("127.0.0.1"), repeat: int = 1) -> int:
    """Run ``program`` on ``packet`` and return the RESULT slot it writes."""
    ebpf.program(program, SocketFilter).test_run(data_in=packet, repeat=repeat)
    slot = {"route": ROUTE_SLOT, "check_port": BLOOM_SLOT, "pop_event": POPPED_SLOT,
            "push_seq": SEQ_SLOT}[program]
    value: int = ebpf.map("RESULT", Array)[slot]
    return value


def test_the_loader_builds_the_new_classes(obj: Ebpf) -> None:
    assert isinstance(obj.map("ROUTES"), LpmTrie)
    assert isinstance(obj.map("EVENTS"), Queue) and isinstance(obj.map("LIFO"), Stack)
    ports = obj.map("PORTS", BloomFilter)
    assert (ports.key_size, ports.value_size, ports.max_entries) == (0, 4, 64)


# --- LPM trie ---------------------------------------------------------------------------------


def test_lpm_routing_from_a_socket_filter(obj: Ebpf) -> None:
    routes = obj.map("ROUTES", LpmTrie)
    routes[ip_network("10.0.0.0/8")] = 1
    routes[ip_network("10.1.0.0/16")] = 2
    routes.insert((24, bytes([10, 1, 2, 0])), 3)  # (prefix_len, data) works too
    expected = {"10.1.2.3": 3, "10.1.9.9": 2, "10.200.0.1": 1, "192.168.0.1": NO_VALUE}
    for dst, route in expected.items():
        assert run(obj, "route", udp_to(dst)) == route, dst
        if route != NO_VALUE:
            assert routes.longest_match(dst) == route
    routes[ip_network("0.0.0.0/0")] = 9  # a default route
    assert run(obj, "route", udp_to("192.168.0.1")) == 9
    del routes[ip_network("10.1.2.0/24")]
    assert run(obj, "route", udp_to("10.1.2.3")) == 2
    assert dict(routes.items()) == {ip_network("10.0.0.0/8"): 1, ip_network("10.1.0.0/16"): 2,
                                    ip_network("0.0.0.0/0"): 9}
    keys = list(routes.keys())
    assert len(keys) == 3 and all(isinstance(k, IPv4Network) for k in keys)
    assert routes[ip_network("10.1.0.0/16")] == 2  # an exact prefix is a lookup too
    assert routes[(32, bytes([10, 1, 7, 7]))] == 2


def test_lpm_ipv6_and_other_data_sizes(obj: Ebpf) -> None:
    routes6 = obj.map("ROUTES6", LpmTrie)
    routes6[ip_network("2001:db8::/32")] = 1
    routes6[ip_network("2001:db8:1::/48")] = 2
    assert routes6.longest_match("2001:db8:1::42") == 2
    assert routes6.longest_match("2001:db8:2::42") == 1
    assert dict(routes6.items()) == {ip_network("2001:db8::/32"): 1,
                                     ip_network("2001:db8:1::/48"): 2}
    assert all(isinstance(k, IPv6Network) for k in routes6)
    # 8 bytes of data: keys come back as (prefix_len, data) tuples.
    with LpmTrie.create(4 + 8, ctypes.c_uint32, 8, name="mac_prefix") as trie:
        assert trie.info().flags & 1  # BPF_F_NO_PREALLOC added
        trie[(16, b"\xaa\xbb" + bytes(6))] = 5
        assert trie.longest_match(b"\xaa\xbb\1\2\3\4\5\6") == 5
        assert list(trie.items()) == [((16, b"\xaa\xbb" + bytes(6)), 5)]


def test_lpm_bad_keys_are_refused_before_the_syscall(obj: Ebpf) -> None:
    routes = obj.map("ROUTES", LpmTrie)
    with pytest.raises(InvalidKeySize, match=r"has 16 bytes of data, the map's keys have 4"):
        routes[ip_network("2001:db8::/32")] = 1
    with pytest.raises(InvalidKeySize, match="prefix length 33; the map's 4-byte data allows "
                                             "0 to 32"):
        routes[(33, bytes(4))] = 1
    with pytest.raises(InvalidKeySize, match="prefix length -1"):
        routes.get((-1, bytes(4)))
    with pytest.raises(InvalidKeySize, match="has 3 bytes of data"):
        routes[(8, b"\x0a\0\0")] = 1
    with pytest.raises(TypeError, match=r"a key tuple is \(prefix_len: int, data: bytes\)"):
        routes[("8", bytes(4))] = 1
    with pytest.raises(TypeError, match="the data of a key must be bytes, got str"):
        routes[(8, "10.0.0.0")] = 1
    with pytest.raises(InvalidValueSize, match="value is 8 bytes, the map's value size is 4"):
        routes[ip_network("10.0.0.0/8")] = bytes(8)
    with pytest.raises(KeyNotFound, match=r"no prefix in map 'ROUTES' contains 10\.0\.0\.1"):
        routes.longest_match("10.0.0.1")
    with pytest.raises(KeyNotFound):
        routes.remove(ip_network("10.0.0.0/8"))
    routes[struct.pack("<I4B", 8, 10, 0, 0, 0)] = 4  # the raw key bytes work too
    assert routes.longest_match("10.9.8.7") == 4


# --- queue and stack --------------------------------------------------------------------------


def test_queue_and_stack_filled_by_bpf_drained_in_order(obj: Ebpf) -> None:
    run(obj, "push_seq", repeat=10)  # one push on each per run: 0, 1, ..., 9
    events, lifo = obj.map("EVENTS", Queue), obj.map("LIFO", Stack)
    assert events.peek() == 0 and lifo.peek() == 9  # peek leaves the value in place
    assert events.pop() == 0 and lifo.pop() == 9
    assert list(events.drain()) == list(range(1, 10))
    assert list(lifo.drain()) == list(range(8, -1, -1))
    with pytest.raises(KeyNotFound, match="map 'EVENTS': the queue is empty"):
        events.pop()
    with pytest.raises(KeyNotFound, match="map 'LIFO': the stack is empty") as exc:
        lifo.peek()
    assert isinstance(exc.value, KeyError) and exc.value.errno_name == "ENOENT"
    assert list(events.drain()) == []


def test_queue_pushed_from_python_popped_by_bpf(obj: Ebpf) -> None:
    events = obj.map("EVENTS", Queue)
    events.push(7)
    events.push(ctypes.c_uint32(8))
    assert [run(obj, "pop_event") for _ in range(3)] == [7, 8, NO_VALUE]


def test_full_queue_refuses_unless_asked_to_overwrite(obj: Ebpf) -> None:
    events = obj.map("EVENTS", Queue)
    for value in range(16):
        events.push(value)
    with pytest.raises(MapError, match="max_entries") as exc:
        events.push(16)
    assert exc.value.errno_name == "E2BIG"
    events.push(16, flags=2)  # BPF_EXIST: the oldest value makes room
    assert list(events.drain()) == list(range(1, 17))
    with pytest.raises(InvalidValueSize, match="value is 3 bytes, the map's value size is 4"):
        events.push(b"abc")
    with pytest.raises(OverflowError, match="does not fit in 4 bytes"):
        events.push(1 << 40)


# --- bloom filter -----------------------------------------------------------------------------


def test_bloom_filter_filled_from_python_queried_from_bpf(obj: Ebpf) -> None:
    ports = obj.map("PORTS", BloomFilter)
    assert run(obj, "check_port", udp_to("127.0.0.1", dport=80)) == 0
    for port in (53, 80, 443):
        ports.insert(port)
    assert run(obj, "check_port", udp_to("127.0.0.1", dport=80)) == 1
    assert run(obj, "check_port", udp_to("127.0.0.1", dport=443)) == 1
    assert run(obj, "check_port", udp_to("127.0.0.1", dport=5678)) == 0  # no false positive
    assert 53 in ports and ports.contains(ctypes.c_uint32(443)) and 8080 not in ports
    with pytest.raises(InvalidValueSize, match="value is 2 bytes, the map's value size is 4"):
        ports.insert(b"\0P")
    with pytest.raises(MapError) as exc:
        ports.insert(22, flags=1)  # bloom filters take BPF_ANY only
    assert exc.value.errno_name == "EINVAL"


# --- standalone creation ----------------------------------------------------------------------


def test_standalone_creation() -> None:
    with Queue.create(ctypes.c_uint64, 4, name="jobs") as jobs:
        info = jobs.info()
        assert (info.map_type, info.name, info.key_size, info.value_size) == \
            (MapType.QUEUE, "jobs", 0, 8)
        jobs.push(1 << 40)
        assert jobs.pop() == 1 << 40
    with Stack.create(4, 2) as stack:
        assert stack.info().map_type == MapType.STACK
        stack.push(1)
        stack.push(2)
        assert list(stack.drain()) == [2, 1]
    with BloomFilter.create(16, 100, hash_functions=2, name="seen") as seen:
        assert seen.info().map_type == MapType.BLOOM_FILTER
        seen.insert(b"x" * 16)
        assert b"x" * 16 in seen and b"y" * 16 not in seen
    with pytest.raises(ValueError, match="hash_functions must be 0 to 15, got 16"):
        BloomFilter.create(4, 10, hash_functions=16)
    with pytest.raises(MapError, match="creating map 'bad'") as exc:
        Queue.create(0, 4, name="bad")  # a zero value size
    assert exc.value.errno_name == "EINVAL"


# --- signed ints and bytes-like per-CPU values --------------------------------------------------


@pytest.fixture
def btf_obj(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("btf_types")) as ebpf:
        yield ebpf


def test_signed_btf_keys_and_values_refuse_what_does_not_fit(btf_obj: Ebpf) -> None:
    signed = btf_obj.map("SIGNED", HashMap)  # __s32 -> enum color
    signed[(1 << 31) - 1] = 1
    signed[-(1 << 31)] = 2
    signed[True] = 4  # the key 1
    for key in (1 << 31, -(1 << 31) - 1):  # 1 << 31 used to be stored as -(1 << 31)
        with pytest.raises(OverflowError, match=rf"^map 'SIGNED': key {key} does not fit in a "
                                                r"signed 4-byte int \(-2147483648 to "
                                                r"2147483647\)$"):
            signed[key] = 1
    with pytest.raises(OverflowError, match="map 'SIGNED': key 2147483648 does not fit"):
        signed.update({5: 1, 1 << 31: 1})  # refused before the syscall: 5 is not stored
    assert dict(signed.items()) == {(1 << 31) - 1: 1, -(1 << 31): 2, 1: 4}
    # __s32 values too: never the unsigned scalar path (it would store 1 << 31 as -(1 << 31)
    # and read -7 back as 4294967289).
    signed.typed(value=Btf.from_object(btf_obj).find("__s32"))
    signed[7] = -7
    assert signed[7] == signed.get(7) == -7
    with pytest.raises(OverflowError, match=r"^map 'SIGNED': value 2147483648 does not fit in "
                                            r"a signed 4-byte int"):
        signed[7] = 1 << 31
    with pytest.raises(OverflowError, match="map 'SIGNED': value -2147483649 does not fit"):
        signed.update({8: 0, 9: -(1 << 31) - 1})
    assert signed[7] == -7 and 8 not in signed


def test_signed_ctypes_values_refuse_what_does_not_fit() -> None:
    with Array.create(ctypes.c_uint32, ctypes.c_int64, 2, name="signed") as totals:
        totals[0] = -1
        totals.update({1: (1 << 63) - 1})
        assert list(totals.values()) == [-1, (1 << 63) - 1]
        with pytest.raises(OverflowError, match=r"^map 'signed': value 9223372036854775808 "
                                                r"does not fit in a signed 8-byte int"):
            totals[1] = 1 << 63  # used to be stored as -(1 << 63)
        with pytest.raises(OverflowError, match="value 9223372036854775808 does not fit"):
            totals.update({0: 0, 1: 1 << 63})
        assert list(totals.values()) == [-1, (1 << 63) - 1]


@pytest.mark.parametrize("cls", [PerCpuHashMap, LruPerCpuHashMap, PerCpuArray])
def test_per_cpu_maps_take_bytes_like_values_as_one_value(
        cls: type[PerCpuHashMap | PerCpuArray]) -> None:
    ncpus = possible_cpus()
    with cls.create(4, 16, 4, name="per_cpu_bytes") as m:  # a char[16] value
        data = b"0123456789abcdef"
        for one in (data, bytearray(data), memoryview(data),
                    (ctypes.c_char * 16).from_buffer_copy(data),
                    memoryview(bytearray(data)).cast("I")):  # any format: its bytes count
            m[1] = one  # a memoryview used to be taken as one value per CPU
            assert m[1] == [data] * ncpus
        m.update({2: memoryview(data[::-1]), 3: bytearray(data.upper())})
        assert (m[2], m[3]) == ([data[::-1]] * ncpus, [data.upper()] * ncpus)
        per_cpu = [cpu.to_bytes(2, "little") * 8 for cpu in range(ncpus)]  # one value per CPU
        m[0] = [memoryview(v) for v in per_cpu]
        assert m[0] == per_cpu
        m.update({0: [bytearray(v) for v in reversed(per_cpu)]})
        assert m[0] == per_cpu[::-1]
        with pytest.raises(MapError, match=rf"needs {ncpus} entries .*got {ncpus + 1}"):
            m[0] = per_cpu + [data]


def test_per_cpu_struct_value_from_raw_bytes_reaches_every_cpu(btf_obj: Ebpf) -> None:
    stats = btf_obj.map("STATS", PerCpuArray)  # struct flow_stats per CPU
    raw = bytes(stats.value_type(packets=50, delta=-8, label="mv"))
    stats[0] = memoryview(raw)
    assert [(v.packets, v.delta, v.label) for v in stats[0]] == [(50, -8, b"mv")] * possible_cpus()
    prog = btf_obj.program("read_counters", SocketFilter)
    prog.load()
    assert prog.test_run(data_in=udp_to("127.0.0.1")).return_value == 42  # read by BPF
