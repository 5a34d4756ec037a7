"""Maps decode and encode their keys and values through the object's BTF; a BPF program writes
nested structs, arrays, enums, unions and bitfields, and checks what Python wrote from dicts."""

from __future__ import annotations

import ctypes
import socket
import struct
import sys
from collections.abc import Callable, Iterator
from enum import IntEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bpf4py import ClosedError, Ebpf, HashMap, MapError, PerCpuArray, SocketFilter
from bpf4py.btf import Btf, BtfError, Kind
from bpf4py.errors import MissingDependency
from bpf4py.maps import possible_cpus
from bpf4py.maps.btf_codec import BtfStruct
from tests.packets import ipv4, udp_packet

PACKET = udp_packet(b"btf")


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("btf_types")) as loaded:
        yield loaded


def run(ebpf: Ebpf, name: str, repeat: int = 1) -> int:
    prog = ebpf.program(name, SocketFilter)
    if not prog.loaded:
        prog.load()
    return prog.test_run(data_in=PACKET, repeat=repeat).return_value


def test_values_the_kernel_wrote_decode_through_btf(ebpf: Ebpf) -> None:
    run(ebpf, "write_record")
    records = ebpf.map("RECORDS", HashMap)
    Key, Record = records.key_type, records.value_type
    assert issubclass(Key, BtfStruct) and Record.__name__ == "record"
    [(key, r)] = list(records.items())
    assert key == Key(tenant=7, port=80, proto=6) and key.port == 80
    assert r.id == 42 and isinstance(r.color, IntEnum) and r.color.name == "BLUE"
    assert [tuple(p) for p in r.pts] == [(1, -1), (2, -2), (3, -3)] and r.pts[1].y == -2
    assert r.ports == (10, 20, 30, 40) and r.name == b"kernel" and r.mac == bytes([1, 2, 3, 4,
                                                                                   5, 6])
    assert (r.flags.kind, r.flags.delta, r.flags.big, r.flags.shade.name) == (5, -3, 0xABCDE,
                                                                              "GREEN")
    assert r.payload.pt == (7, -7)
    assert r.payload.raw == int.from_bytes(struct.pack("=ii", 7, -7), sys.byteorder)
    assert r.as_u32 == 0x01020304 and r.as_bytes == (0x01020304).to_bytes(4, sys.byteorder)
    assert (r.lo, r.hi, r.valid, r.total) == (0x1111, 0x2222, True, -123456789012)
    assert records[{"tenant": 7, "port": 80, "proto": 6}] == r
    assert r._asdict()["flags"] == {"kind": 5, "delta": -3, "big": 0xABCDE, "shade": 2}


FLAGS = {"kind": 7, "delta": -16, "big": 0xFFFFF, "shade": 4}
WRITTEN = {
    "id": 99, "color": "RED", "pts": [(-10, 20), {"x": 0}, {"y": 5}], "ports": [65535, 1],
    "name": "py", "mac": b"\xaa\0\0\0\0\xff", "flags": FLAGS,
    "payload": {"pt": {"x": 0x55667788, "y": 0x11223344}}, "as_bytes": b"\xee", "lo": 3,
    "hi": 4, "valid": True, "total": -1,
}


def test_values_written_from_dicts_and_kwargs_are_what_the_program_reads(ebpf: Ebpf) -> None:
    records = ebpf.map("RECORDS", HashMap)
    assert run(ebpf, "check_record") == 1  # nothing at the key yet
    key = {"tenant": 1, "port": 443, "proto": 17}
    records[key] = WRITTEN
    assert run(ebpf, "check_record") == 0
    # The same record from keyword arguments, the union from its 8-byte integer member.
    Record, Key = records.value_type, records.key_type
    value = Record(**{**WRITTEN, "payload": {"raw": 0x1122334455667788}})
    records.insert(Key(1, 443, 17), value)
    assert run(ebpf, "check_record") == 0
    # Each change is seen by the program: the encoding is what it reads.
    for change, failed_check in [({"total": 0}, 11), ({"hi": 5}, 10),
                                 ({"flags": {**FLAGS, "delta": 15}}, 7),
                                 ({"ports": [65535, 2]}, 4), ({"name": "px"}, 5)]:
        records[key] = value._replace(**change)
        assert run(ebpf, "check_record") == failed_check, change


def test_decoded_values_round_trip(ebpf: Ebpf) -> None:
    run(ebpf, "write_record")
    records = ebpf.map("RECORDS", HashMap)
    [(key, value)] = list(records.items())
    records[key._replace(tenant=8)] = value
    assert records[key._replace(tenant=8)] == value
    assert bytes(records.typed(value=bytes)[key]) == bytes(value)


def test_explicit_codecs_override_btf(ebpf: Ebpf) -> None:
    run(ebpf, "fill_flows", repeat=3)
    flows = ebpf.map("FLOWS", HashMap)
    assert flows[2].bytes == 3000 and flows[2].label == b"f2"

    class FlowStats(ctypes.Structure):
        _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64),
                    ("delta", ctypes.c_int32), ("color", ctypes.c_uint32),
                    ("ports", ctypes.c_uint16 * 2), ("label", ctypes.c_char * 6),
                    ("_pad", ctypes.c_char * 6)]

    as_ctypes = flows.typed(value=FlowStats)[2]
    assert isinstance(as_ctypes, FlowStats) and (as_ctypes.bytes, as_ctypes.label) == (3000,
                                                                                       b"f2")
    assert flows.typed(value="=QQiI2H6s6x")[2] == (2, 3000, -2, 4, 2, 7, b"f2\0\0\0\0")
    dtype = np.dtype([("packets", "<u8"), ("bytes", "<u8"), ("rest", "V24")])
    assert flows.typed(value=dtype)[2]["bytes"] == 3000
    assert len(flows.typed(value=bytes)[2]) == 40
    flows.typed(value=Btf.from_object(ebpf).find("struct flow_stats"))  # back to BTF
    assert flows[2].delta == -2
    assert flows.typed(value=bytes).typed(value="struct flow_stats")[2].delta == -2  # by name
    with HashMap.create(4, 40, 1) as plain, \
            pytest.raises(MapError, match="no BTF to find 'struct flow_stats'"):
        plain.typed(value="struct flow_stats")


def test_to_numpy_and_to_pandas_of_a_1000_entry_map_match_items(ebpf: Ebpf) -> None:
    run(ebpf, "fill_flows", repeat=1000)
    flows = ebpf.map("FLOWS", HashMap)
    items = dict(flows.items())
    assert len(items) == 1000 and items[999].bytes == 999 * 1500
    keys, values = flows.to_numpy()
    assert keys.dtype == np.uint32 and sorted(keys.tolist()) == list(range(1000))
    assert values.dtype.names == ("packets", "bytes", "delta", "color", "ports", "label")
    for k, v in zip(keys.tolist(), values):
        want = items[k]
        assert (int(v["packets"]), int(v["bytes"]), int(v["delta"]), int(v["color"])) == (
            want.packets, want.bytes, want.delta, want.color)
        assert tuple(v["ports"].tolist()) == want.ports and bytes(v["label"]) == want.label
    table = flows.to_numpy(structured=True)
    assert table.dtype.names == ("key", "value") and (table["key"] == keys).all()
    df = flows.to_pandas()
    assert df.index.name == "key" and len(df) == 1000
    assert list(df.columns) == ["packets", "bytes", "delta", "color", "ports[0]", "ports[1]",
                                "label"]
    for k, want in items.items():
        row = df.loc[k]
        assert (row["bytes"], row["delta"], row["ports[0]"], row["label"]) == (
            want.bytes, want.delta, want.ports[0], want.label)
    assert isinstance(df, pd.DataFrame)


def test_to_numpy_decodes_what_numpy_cannot_lay_out(ebpf: Ebpf) -> None:
    run(ebpf, "write_record")
    records = ebpf.map("RECORDS", HashMap)
    [(key, value)] = list(records.items())
    keys, values = records.to_numpy()  # bitfields: decoded, then one field per member
    assert keys[0]["port"] == key.port == 80
    assert values[0]["flags"]["delta"] == value.flags.delta == -3
    assert values[0]["pts"][2]["y"] == value.pts[2].y and values[0]["payload"]["pt"]["x"] == 7
    df = records.to_pandas()
    assert df.index.names == ["tenant", "port", "proto", "pad"]
    row = df.loc[(7, 80, 6, 0)]
    assert (row["flags.big"], row["pts[1].x"], row["name"], row["total"]) == (
        0xABCDE, 2, b"kernel", -123456789012)


def test_per_cpu_struct_values(ebpf: Ebpf) -> None:
    stats = ebpf.map("STATS", PerCpuArray)
    ncpus = possible_cpus()
    stats[0] = {"packets": 50, "delta": -8}  # on every CPU
    assert run(ebpf, "read_counters") == 42
    stats[1] = [{"packets": cpu} for cpu in range(ncpus)]
    assert [v.packets for v in stats[1]] == list(range(ncpus))
    stats[2] = stats.value_type(packets=7, ports=(1, 2))  # a struct (a tuple): one value
    assert [(v.packets, v.ports) for v in stats[2]] == [(7, (1, 2))] * ncpus
    keys, values = stats.to_numpy()
    assert keys.tolist() == [0, 1, 2, 3] and values.shape == (4, ncpus)
    assert values[2]["ports"].tolist() == [[1, 2]] * ncpus and values[1]["packets"].tolist() == list(range(ncpus))
    df = stats.to_pandas()
    assert df.index.names == ["key", "cpu"] and df.loc[(0, ncpus - 1), "delta"] == -8


def test_signed_keys_and_enum_values(ebpf: Ebpf) -> None:
    signed = ebpf.map("SIGNED", HashMap)
    signed[-5] = "GREEN"
    signed[3] = 9  # not a member of enum color: stays an int
    assert dict(signed.items()) == {-5: 2, 3: 9}
    assert signed[-5] is signed.value_type.GREEN
    with pytest.raises(ValueError, match="map 'SIGNED': .*no member 'PINK'"):
        signed[1] = "PINK"


def test_maps_without_btf_types_keep_int_and_bytes(ebpf: Ebpf) -> None:
    raw = ebpf.map("RAW", HashMap)
    assert (raw.key_type, raw.value_type) == (int, bytes)
    raw[1] = b"x" * 12
    assert raw[1] == b"x" * 12
    with HashMap.create(4, 40, 4, name="no_btf") as standalone:
        assert (standalone.key_type, standalone.value_type) == (int, bytes)
        standalone.typed(value=Btf.from_object(ebpf).find("struct flow_stats"))
        standalone[1] = {"packets": 3}
        assert standalone[1].packets == 3


def test_btf_codecs_are_built_on_first_use_once_per_object(
        bpf_object: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real = Btf.from_bytes.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Btf], data: bytes, what: str = "BTF data") -> Btf:
        parses.append(what)
        return real(cls, data, what)  # type: ignore[no-any-return]

    monkeypatch.setattr(Btf, "from_bytes", classmethod(counting))
    with Ebpf.load_file(bpf_object("btf_types")) as fresh:
        flows, records = fresh.map("FLOWS", HashMap), fresh.map("RECORDS", HashMap)
        assert parses == []  # loading builds no codec
        assert records.value_type.__name__ == "record" and len(parses) == 1
        flows.typed(key=ctypes.c_uint32)  # an explicit key type stays; the value is BTF's
        assert flows.value_type.__name__ == "flow_stats" and flows.key_type is ctypes.c_uint32
        assert len(parses) == 1  # one parse serves every map of the object
        taken = fresh.take_map("RECORDS")
    with taken:  # the object is closed; its BTF types still decode
        taken[{"tenant": 1, "port": 2, "proto": 3}] = {"id": 9}
        assert taken[{"tenant": 1, "port": 2, "proto": 3}].id == 9


def test_first_use_from_many_threads_builds_one_codec(
        bpf_object: Callable[[str], Path]) -> None:
    import threading

    with Ebpf.load_file(bpf_object("btf_types")) as fresh:
        flows = fresh.map("FLOWS", HashMap)
        start = threading.Barrier(8)
        seen: list[type] = []

        def first_use() -> None:
            start.wait()
            seen.append(flows.value_type)

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 8 and len(set(seen)) == 1 and seen[0].__name__ == "flow_stats"


def test_maps_opened_by_id_use_the_kernels_copy_of_the_btf(ebpf: Ebpf) -> None:
    run(ebpf, "write_record")
    records = ebpf.map("RECORDS", HashMap)
    info = records.info()
    assert info.btf_id and info.btf_value_type_id
    with HashMap.from_id(info.id) as again:
        [value] = list(again.values())
        assert value.name == b"kernel" and value.flags.big == 0xABCDE
    with Btf.from_id(info.btf_id) as kernel_copy:
        assert kernel_copy.type(info.btf_value_type_id).name == "record"


def test_btf_handles(ebpf: Ebpf) -> None:
    btf = Btf.from_object(ebpf)
    ebpf.map(".bss").typed(value=btf.find(".bss"))
    run(ebpf, "fill_flows", repeat=5)
    assert ebpf.map(".bss")[0].fills == 5  # a data section's variables by name
    ebpf.close()
    assert btf.find("struct record").size == 104  # a copy: outlives the object
    btf.close()
    with pytest.raises(ClosedError):
        btf.find("struct record")
    with pytest.raises(ClosedError):
        Btf.from_object(ebpf)


def test_kernel_btf_decodes_kernel_structs() -> None:
    with Btf.from_sys_fs() as kernel:
        iphdr = kernel.find("struct iphdr")
        assert iphdr.kind == Kind.STRUCT and iphdr.size == 20
        header = ipv4(17, b"12345678", src="10.1.2.3", dst="10.4.5.6")[:20]
        ip = kernel.codec_for(iphdr).decode(header)
        assert (ip.version, ip.ihl, ip.ttl, ip.protocol) == (4, 5, 64, 17)
        # saddr/daddr sit in an anonymous union (with the `addrs` struct): members of iphdr.
        assert ip.saddr == int.from_bytes(socket.inet_aton("10.1.2.3"), sys.byteorder)
        assert ip.addrs.daddr == int.from_bytes(socket.inet_aton("10.4.5.6"), sys.byteorder)
        assert kernel.codec_for(iphdr).encode(ip) == header
        with pytest.raises(BtfError, match="no type 'struct no_such_thing'"):
            kernel.find("struct no_such_thing")


def test_missing_pandas_is_a_clear_error(ebpf: Ebpf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    with pytest.raises(MissingDependency, match="to_pandas\\(\\) of map 'FLOWS' needs pandas") \
            as exc:
        ebpf.map("FLOWS", HashMap).to_pandas()
    assert isinstance(exc.value, ImportError)
