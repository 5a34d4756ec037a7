"""Batch operations: every KeyValueMap reads and writes the same through batches and through
the per-key fallback, and falls back by itself where the kernel has no batch operation."""

from __future__ import annotations

import ctypes
import errno
from collections import Counter
from collections.abc import Callable, Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from bpf4py import (
    Array,
    HashMap,
    IndexOutOfBounds,
    InvalidValueSize,
    LruHashMap,
    MapError,
    MapType,
    PerCpuArray,
    PerCpuHashMap,
)
from bpf4py._native import bpf as native
from bpf4py.maps import batch, possible_cpus
from bpf4py.maps.base import KeyValueMap
from bpf4py.maps.lpm_trie import LpmTrie

N = 100
OPS = ("lookup", "lookup_and_delete", "update")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the native calls of both paths (they still run), on a fresh capability cache."""
    monkeypatch.setattr(batch, "SUPPORTED", {})
    seen: Counter[str] = Counter()
    for name in ("map_lookup_batch", "map_update_batch", "map_next_key", "map_update"):
        real = getattr(native, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            seen[_name] += 1
            try:
                return _real(*args)
            except MapError as exc:
                seen[f"{_name}:{exc.errno_name}"] += 1
                raise

        monkeypatch.setattr(native, name, spy)
    return seen


def force_fallback(map_type: int) -> None:
    for op in OPS:
        batch.SUPPORTED[(map_type, op)] = False


def per_cpu(i: int) -> list[int]:
    return [i * 10 + cpu for cpu in range(possible_cpus())]


# (factory, entries) for one map of each family that has batch operations.
FAMILIES: dict[str, tuple[Callable[[], KeyValueMap], Callable[[], dict[Any, Any]]]] = {
    "hash": (lambda: HashMap.create(4, 8, 2 * N), lambda: {i * 7: i << 33 for i in range(N)}),
    "lru_hash": (lambda: LruHashMap.create(4, 4, 2 * N), lambda: {i: i for i in range(N)}),
    "percpu_hash": (lambda: PerCpuHashMap.create(8, 4, 2 * N),
                    lambda: {i: per_cpu(i) for i in range(N)}),
    "array": (lambda: Array.create(4, 4, N), lambda: {i: N - i for i in range(N)}),
    "percpu_array": (lambda: PerCpuArray.create(4, 8, N),
                     lambda: {i: per_cpu(i) for i in range(N)}),
    "lpm_trie": (lambda: LpmTrie.create(8, 4, 2 * N),
                 lambda: {ip_network(f"10.{i}.0.0/16"): i for i in range(N)}),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_batch_and_fallback_give_identical_results(family: str, calls: Counter[str]) -> None:
    make, entries = FAMILIES[family]
    with make() as m, make() as written_key_by_key:
        m.update(entries())
        assert calls["map_update_batch"] == 1 and calls["map_update"] == 0
        batched = (list(m.items()), list(m.keys()), list(m.values()))
        assert calls["map_lookup_batch"] >= 1 and calls["map_next_key"] == 0
        assert batch.SUPPORTED[(m.map_type, "lookup")] is True

        calls.clear()
        force_fallback(m.map_type)
        key_by_key = (list(m.items()), list(m.keys()), list(m.values()))
        assert key_by_key == batched  # same map, same order
        assert calls["map_lookup_batch"] == 0
        assert calls["map_next_key"] >= 3 * N or isinstance(m, Array)  # arrays need none
        assert dict(batched[0]) == entries()

        # The per-key update stores the same (hash order differs: each map has its own seed).
        written_key_by_key.update(entries())
        # (int -> int maps store each entry through the scalar path, not map_update)
        per_key = 0 if written_key_by_key._scalar_shape else N
        assert calls["map_update"] == per_key and calls["map_update_batch"] == 0
        assert dict(written_key_by_key.items()) == entries()
        assert all(m[k] == v for k, v in entries().items())


def test_hash_buckets_bigger_than_the_batch_grow_it(
    calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 1)
    with HashMap.create(4, 4, 1000) as m:
        m.update({i: i + 1 for i in range(1000)})  # full: buckets with several entries
        assert dict(m.items()) == {i: i + 1 for i in range(1000)}
        assert calls["map_lookup_batch:ENOSPC"] >= 1
        assert sorted(k for k, _ in m.pop_items()) == list(range(1000))
        assert len(m) == 0


def test_a_missing_batch_operation_is_remembered_per_map_type(calls: Counter[str]) -> None:
    # LPM tries have batched lookup and update but no lookup-and-delete.
    routes = {ip_network("10.0.0.0/8"): 1, ip_network("10.1.0.0/16"): 2}
    with LpmTrie.create(8, 4, 8) as first, LpmTrie.create(8, 4, 8) as second:
        first.update(routes)
        second.update(routes)
        assert sorted(first.pop_items()) == sorted(routes.items()) and len(first) == 0
        key = (MapType.LPM_TRIE, "lookup_and_delete")
        assert batch.SUPPORTED[key] is False
        assert calls["map_lookup_batch:ENOTSUPP"] == 1
        second.clear()  # the per-key path at once: no second ENOTSUPP
        assert len(second) == 0 and calls["map_lookup_batch:ENOTSUPP"] == 1


def test_update_encodes_everything_before_the_first_syscall(calls: Counter[str]) -> None:
    with HashMap.create(4, 4, 4, name="small") as m, HashMap.create(4, 4, 4) as other:
        with pytest.raises(InvalidValueSize):
            m.update([(1, 1), (2, b"too long")])
        assert list(m.items()) == [] and calls["map_update_batch"] == 0
        m.update([])
        m.update(iter([(1, 10), (2, 20)]))  # pairs, from any iterable
        other.update(m.items())  # from another map
        assert dict(other.items()) == {1: 10, 2: 20}
        with pytest.raises(MapError, match=r"updating map 'small' in a batch \(2 of 3 entries "
                                           r"stored\)") as exc:
            m.update({3: 3, 4: 4, 5: 5})  # 5 entries in a map of 4
        assert exc.value.errno == errno.E2BIG
        assert dict(m.items()) == {1: 10, 2: 20, 3: 3, 4: 4}
    a = Array.create(4, 4, 4)
    with a, pytest.raises(IndexOutOfBounds, match="index 4 is out of bounds"):
        a.update({0: 1, 4: 1})


def test_clear_and_pop_items(calls: Counter[str]) -> None:
    ncpu = possible_cpus()
    with PerCpuHashMap.create(4, 4, 64) as m:
        m.update({i: per_cpu(i) for i in range(20)})
        popped = m.pop_items()
        assert sorted(popped) == [(i, per_cpu(i)) for i in range(20)]
        assert len(m) == 0 and m.pop_items() == []
        m.update({i: i for i in range(20)})
        before = calls["map_next_key"]
        m.clear()
        assert list(m.items()) == [] and calls["map_next_key"] == before  # batched
        m[1] = 5
        force_fallback(m.map_type)
        assert m.pop_items() == [(1, [5] * ncpu)] and len(m) == 0
    with Array.create(4, ctypes.c_uint32, 4) as a:
        a.update({0: 1})
        with pytest.raises(MapError, match="array elements cannot be deleted"):
            a.clear()
        with pytest.raises(MapError, match="array elements cannot be deleted"):
            a.pop_items()
        assert list(a.values()) == [1, 0, 0, 0]


def test_items_is_lazy_and_reads_many_per_call(
    calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 16)
    with HashMap.create(4, 4, 256) as m:
        m.update({i: i for i in range(256)})
        it: Iterator[tuple[int, int]] = m.items()
        assert calls["map_lookup_batch"] == 0
        next(it)
        assert calls["map_lookup_batch"] == 1
        assert len(list(it)) == 255 and calls["map_lookup_batch"] <= 256 // 16 + 4
