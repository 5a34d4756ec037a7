"""HashMap / Array and their LRU and per-CPU siblings against the kernel."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bpf4py import (
    Array,
    ClosedError,
    Ebpf,
    EbpfLoader,
    HashMap,
    IndexOutOfBounds,
    InvalidKeySize,
    InvalidMapType,
    InvalidValueSize,
    KeyNotFound,
    LruHashMap,
    MapError,
    MapType,
    PerCpuArray,
    PerCpuHashMap,
    SocketFilter,
)
from bpf4py._native import bpf as native
from bpf4py.maps import possible_cpus
from tests.packets import udp_packet


class FlowKey(ctypes.Structure):
    _fields_ = [("saddr", ctypes.c_uint32), ("daddr", ctypes.c_uint32),
                ("sport", ctypes.c_uint16), ("dport", ctypes.c_uint16),
                ("proto", ctypes.c_uint32)]


@pytest.fixture
def maps(bpf_object: Callable[[str], Path], bpffs: Path) -> Iterator[Ebpf]:
    # The object pins PINNED by name: in the test's own bpffs directory, not /sys/fs/bpf.
    with EbpfLoader().default_map_pin_directory(bpffs).load_file(bpf_object("maps")) as ebpf:
        yield ebpf


def test_hash_crud_and_dict_protocol(maps: Ebpf) -> None:
    m = maps.map("HASH", HashMap)
    assert (m.key_size, m.value_size, m.max_entries) == (4, 8, 64)
    assert len(m) == 0 and list(m) == []
    for k in range(10):
        m.insert(k, k * k)
    m[100] = 1 << 63
    assert m.get(3) == 9 and m[100] == 1 << 63
    assert len(m) == 11 and 5 in m and 55 not in m
    assert sorted(m.keys()) == [*range(10), 100]
    assert dict(m.items()) == {**{k: k * k for k in range(10)}, 100: 1 << 63}
    assert sorted(m.values()) == sorted([k * k for k in range(10)] + [1 << 63])
    m.remove(3)
    del m[4]
    assert 3 not in m and len(m) == 9
    with pytest.raises(KeyNotFound) as exc:
        m[3]
    assert isinstance(exc.value, KeyError) and exc.value.errno_name == "ENOENT"
    with pytest.raises(KeyNotFound):
        m.remove(3)
    with pytest.raises(KeyError):
        del m[3]
    m[-1] = -1  # negative ints are stored as two's complement
    assert m[0xFFFFFFFF] == 0xFFFFFFFFFFFFFFFF


def test_hash_flags_and_full_map(maps: Ebpf) -> None:
    m = maps.map("HASH", HashMap)
    m.insert(1, 1)
    with pytest.raises(MapError) as exc:
        m.insert(1, 2, flags=1)  # BPF_NOEXIST
    assert exc.value.errno_name == "EEXIST"
    with pytest.raises(MapError) as exc:
        m.insert(2, 2, flags=2)  # BPF_EXIST
    assert exc.value.errno_name == "ENOENT"
    for k in range(2, 65):
        m[k] = k
    with pytest.raises(MapError, match="max_entries") as exc:
        m[1000] = 1
    assert exc.value.errno_name == "E2BIG"


def test_wrong_sizes_and_types_are_checked_before_the_syscall(maps: Ebpf) -> None:
    m = maps.map("HASH", HashMap)
    with pytest.raises(InvalidKeySize, match="key is 3 bytes, the map's key size is 4 bytes"):
        m[b"abc"] = 1
    with pytest.raises(InvalidValueSize, match="value is 2 bytes, the map's value size is 8"):
        m[1] = b"ab"
    with pytest.raises(InvalidKeySize):
        m.get(ctypes.c_uint16(1))
    with pytest.raises(OverflowError, match="does not fit in 4 bytes"):
        m[1 << 40] = 1
    with pytest.raises(TypeError, match="int, bytes or a ctypes object"):
        m["key"] = 1
    with pytest.raises(InvalidValueSize, match="is 4 bytes, the map's value size is 8 bytes"):
        m.typed(value=ctypes.c_uint32)
    assert isinstance(InvalidKeySize("x"), ValueError)


def test_struct_keys_with_ctypes(maps: Ebpf) -> None:
    flows = maps.map("FLOWS", HashMap).typed(key=FlowKey)
    key = FlowKey(0x0100007F, 0x0100007F, 1234, 80, 6)
    flows[key] = 42
    flows[bytes(FlowKey(1, 2, 3, 4, 17))] = 7  # raw bytes work too
    got = dict((k.sport, v) for k, v in flows.items())
    assert got == {1234: 42, 3: 7}
    assert flows[key] == 42


def test_array(maps: Ebpf) -> None:
    a = maps.map("ARRAY", Array)
    assert len(a) == 8 and list(a) == list(range(8))
    assert list(a.values()) == [0] * 8
    a.set(3, 33)
    a[7] = 77
    assert a.get(3) == 33 and a[7] == 77
    assert dict(a.items())[7] == 77
    with pytest.raises(IndexOutOfBounds, match="index 8 is out of bounds"):
        a[8] = 1
    with pytest.raises(IndexError):
        a.get(100)
    with pytest.raises(MapError, match="cannot be deleted"):
        del a[0]
    assert 7 in a and 8 not in a


def test_per_cpu_values(maps: Ebpf) -> None:
    ncpu = possible_cpus()
    arr = maps.map("PERCPU", PerCpuArray)
    arr[1] = 5  # broadcast
    assert arr[1] == [5] * ncpu
    arr[2] = list(range(ncpu))
    assert arr[2] == list(range(ncpu))
    with pytest.raises(MapError, match=f"needs {ncpu} entries"):
        arr[0] = [1] * (ncpu + 1)
    h = maps.map("PERCPU_HASH", PerCpuHashMap)
    h[9] = [7] * ncpu
    assert dict(h.items()) == {9: [7] * ncpu}


def test_lru_evicts(maps: Ebpf) -> None:
    lru = maps.map("LRU", LruHashMap)
    for k in range(50):
        lru[k] = k
    assert 0 < len(lru) <= 50
    assert 49 in lru  # the newest survives


def test_values_written_by_a_program(maps: Ebpf) -> None:
    prog = maps.program("fill_hash", SocketFilter)
    prog.load()
    pkt = udp_packet(b"x" * 10)
    for _ in range(3):
        prog.test_run(data_in=pkt)
    assert dict(maps.map("HASH").items()) == {len(pkt) - 14: 3}


def test_map_info_and_from_id(maps: Ebpf) -> None:
    m = maps.map("HASH", HashMap)
    info = m.info()
    assert info.map_type == MapType.HASH and info.name == "HASH"
    assert (info.key_size, info.value_size, info.max_entries) == (4, 8, 64)
    m[5] = 6
    with HashMap.from_id(info.id) as again:
        assert again[5] == 6 and again.name == "HASH"
    with pytest.raises(InvalidMapType, match="is of type HASH; Array takes ARRAY"):
        Array.from_id(info.id)


def test_standalone_create_and_close(tmp_path: Path) -> None:
    with HashMap.create(ctypes.c_uint32, ctypes.c_uint64, 16, name="standalone") as m:
        m[1] = 2
        assert m[1] == 2
        assert m.info().name == "standalone"
    with pytest.raises(ClosedError, match="map 'standalone' is closed"):
        m[1]
    m.close()  # twice is fine
    arr = Array.create(4, 4, 2)
    arr.freeze()
    with pytest.raises(MapError) as exc:
        arr[0] = 1
    assert exc.value.errno_name == "EPERM"
    assert "frozen" in str(exc.value) and "CAP_BPF" not in str(exc.value)  # not privileges
    with pytest.raises(MapError, match=r"\(0 of 2 entries stored\).*frozen"):
        arr.update({0: 1, 1: 1})  # refused before the first entry
    arr.close()
    for question in (len, lambda a: 0 in a, lambda a: list(a.keys()), lambda a: list(a.items())):
        with pytest.raises(ClosedError):  # no syscall needed, still an error once closed
            question(arr)
    with HashMap.create(4, 4, 2) as full:
        with pytest.raises(MapError, match=r"\(2 of 3 entries stored\).*map is full"):
            full.update({1: 1, 2: 2, 3: 3})


def test_create_names_the_bad_argument() -> None:
    for key in (True, 1.5, None, "I", int):
        with pytest.raises(TypeError, match="the key must be a size in bytes or a ctypes type"):
            HashMap.create(key, 8, 4)  # type: ignore[arg-type]
    for kwargs, field in (({"max_entries": -1}, "max_entries"), ({"flags": -1}, "flags"),
                          ({"value": 1 << 32}, "value size")):
        args = {"key": 4, "value": 8, "max_entries": 4, **kwargs}
        with pytest.raises(ValueError, match=f"{field} must be 0 .. 2\\*\\*32-1"):
            HashMap.create(**args)  # type: ignore[arg-type]
    with pytest.raises(MapError, match="max_entries this map type does not take") as exc:
        HashMap.create(4, 8, 0)
    assert exc.value.errno_name == "EINVAL"


def test_bools_are_the_ints_they_equal_on_every_path() -> None:
    with HashMap.create(4, 4, 4) as h, Array.create(4, 4, 2) as a:
        h.insert(True, 5, flags=1)  # flags: the generic path
        h[False] = 6  # the scalar path
        assert h[1] == 5 and h.get(False) == 6 and True in h
        a[True] = 3
        assert a[1] == 3 and a.get(True) == 3


def test_int_keys_and_values_take_the_scalar_path(maps: Ebpf,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """u32 -> u64 maps pass keys and values to C as ints; every result matches the generic
    (bytes) path, and whatever the scalar path cannot do falls back to it."""
    generic: list[str] = []
    for name in ("map_lookup", "map_update"):
        real = getattr(native, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            generic.append(_name)
            return _real(*args)

        monkeypatch.setattr(native, name, spy)

    m = maps.map("HASH", HashMap)
    m[0] = 0  # the first access builds the codecs from BTF, and with them the scalar path
    assert m._scalar_shape == 4 | 8 << 8
    generic.clear()
    entries = {0: 0, 1: 1 << 63, 0xFFFFFFFF: 0xFFFFFFFFFFFFFFFF, 7: 0x0102030405060708}
    for k, v in entries.items():
        m[k] = v
    m.insert(3, 4)
    assert {k: m[k] for k in entries} == {k: m.get(k) for k in entries} == entries
    assert m[3] == 4
    assert generic == []  # all of the above took the scalar path
    raw = {int.from_bytes(k, "little"): int.from_bytes(v, "little") for k, v in m._raw_items()}
    assert raw == {**entries, 3: 4}

    m.insert(7, 9, flags=2)  # BPF_EXIST: flags take the generic path
    assert generic == ["map_update"] and m[7] == 9
    with pytest.raises(MapError) as exc:
        m.insert(7, 1, flags=1)  # BPF_NOEXIST
    assert exc.value.errno_name == "EEXIST"
    with pytest.raises(KeyNotFound, match="has no key 5"):
        m[5]  # the scalar lookup fails, the generic one says why
    with pytest.raises(OverflowError, match="does not fit in 8 bytes"):
        m[1] = 1 << 64
    with pytest.raises(OverflowError):
        m[1 << 32]  # wider than the 4-byte key
    assert m[-1] == m[0xFFFFFFFF]  # negative ints are two's complement (the generic path)
    with pytest.raises(TypeError):
        m["7"]
    m[2] = True  # bools are ints
    assert m[2] == 1

    m.typed(key=ctypes.c_uint32)  # not a plain int codec: the generic path only
    assert m._scalar_shape == 0
    assert m[ctypes.c_uint32(7)] == 9
    m.typed(key=int)
    assert m._scalar_shape and m[7] == 9

    a = maps.map("ARRAY", Array)
    a[7] = 5
    assert a._scalar_shape and a[7] == 5
    with pytest.raises(IndexOutOfBounds):
        a[8]
    assert maps.map("PERCPU", PerCpuArray)._scalar_shape == 0

    m.close()
    with pytest.raises(ClosedError):
        m[7]


def test_a_subclass_that_overrides_get_or_insert_is_called_by_item_access() -> None:
    """The scalar path never bypasses a subclass's own get/insert."""

    class Doubling(HashMap):
        def get(self, key: object, flags: int = 0) -> Any:
            return 2 * super().get(key, flags)

        def insert(self, key: object, value: object, flags: int = 0) -> None:
            super().insert(key, value + 1, flags)  # type: ignore[operator]

    with HashMap.create(4, 8, 16) as plain:
        assert plain._scalar_shape  # int keys and values: the scalar path
    with Doubling.create(4, 8, 16) as m:
        assert m._scalar_shape == 0
        m[4] = 10
        assert m[4] == 22 and m.get(4) == 22
        assert HashMap.get(m, 4) == 11
    with pytest.raises(ClosedError):
        m[7] = 1
