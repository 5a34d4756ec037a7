"""PerfEventArray against the kernel: records written by socket filters with
bpf_perf_event_output (driven by test_run pinned to each CPU, and by real UDP packets on
loopback), read in every form -- list, callback, batches, iteration, select(), asyncio --
exactly and in order per CPU; wake-up thresholds, lost records, Ctrl-C during a blocking
poll, bad input and closing."""

from __future__ import annotations

import asyncio
import ctypes
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bpf4py import Array, ClosedError, Ebpf, InvalidMapType, MapError, SocketFilter
from bpf4py._native.perf_buffer import PerfBufferReader
from bpf4py.maps._reader import BATCH
from bpf4py.maps.perf_event_array import WAKEUP_EVENTS, PerfEventArray
from tests.interrupts import interrupt_delay
from tests.packets import udp_packet

ETH_HLEN = 14  # test_run hands a socket filter the packet from the IP header on
SAMPLE = 8 + 4 + 28  # a perf record: header, raw size, the 24-byte record padded to 28


class Record(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("cpu", ctypes.c_uint32), ("len", ctypes.c_uint32),
                ("tail", ctypes.c_uint32), ("pad", ctypes.c_uint32)]


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("perf_event_array")) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def cpus() -> tuple[int, int]:
    """Two CPUs this process may run on: the tests check the order per CPU."""
    usable = sorted(os.sched_getaffinity(0))
    assert len(usable) >= 2, f"these tests need two CPUs, the process may use {usable}"
    return usable[0], usable[1]


def program(ebpf: Ebpf, name: str = "output_record") -> SocketFilter:
    prog = ebpf.program(name, SocketFilter)
    prog.load()
    return prog


def packet(tag: int) -> bytes:
    return udp_packet(b"payload-" + struct.pack("<I", tag))


@contextmanager
def on_cpu(cpu: int) -> Iterator[None]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def run(prog: SocketFilter, repeat: int, cpu: int | None = None, tag: int = 7) -> None:
    """test_run(repeat) runs the program ``repeat`` times on the CPU the call is made on."""
    if cpu is None:
        prog.test_run(data_in=packet(tag), repeat=repeat)
        return
    with on_cpu(cpu):
        prog.test_run(data_in=packet(tag), repeat=repeat)


def seqs_by_cpu(records: list[Record]) -> dict[int, list[int]]:
    by_cpu: dict[int, list[int]] = {}
    for r in records:
        by_cpu.setdefault(r.cpu, []).append(r.seq)
    return by_cpu


def failed_outputs(ebpf: Ebpf) -> int:
    """The program's count of bpf_perf_event_output calls that failed."""
    return int(struct.unpack_from("<QQ", ebpf.map(".bss", Array)[0])[1])


def readable(events: PerfEventArray, timeout: float) -> bool:
    return select.select([events], [], [], timeout)[0] == [events]


def test_records_arrive_exactly_and_in_order_per_cpu(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    a, b = cpus
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    prog = program(ebpf)
    run(prog, 300, a, tag=0xC0FFEE)
    run(prog, 200, b, tag=0xC0FFEE)
    run(prog, 100, a, tag=0xC0FFEE)
    records = events.poll(timeout=1.0)
    assert seqs_by_cpu(records) == {a: [*range(300), *range(500, 600)], b: list(range(300, 500))}
    assert {(r.len, r.tail) for r in records} == {(len(packet(0)) - ETH_HLEN, 0xC0FFEE)}
    assert events.poll(timeout=0) == [] and events.consume() == []
    assert events.lost() == {} and failed_outputs(ebpf) == 0


def test_variable_length_records_come_padded(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open()
    run(program(ebpf, "output_varlen"), 64, cpus[0])

    def padded(n: int) -> bytes:  # the kernel pads the raw sample's size to 4 mod 8
        data = bytes((n + i) & 0xFF for i in range(n % 32 + 1))
        return data + bytes((4 - len(data)) % 8)

    assert events.consume() == [padded(n) for n in range(64)]


def test_padded_records_typed_by_btf_name_and_as_one_array(ebpf: Ebpf,
                                                           cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open().typed("struct record")
    run(program(ebpf), 50, cpus[0], tag=0xC0FFEE)
    [first, *_] = events.consume(max_records=10)  # 28-byte samples, a 24-byte type
    assert (first.seq, first.cpu, first.tail) == (0, cpus[0], 0xC0FFEE)
    batch = events.poll_array(1.0)
    assert batch["seq"].tolist() == list(range(10, 50)) and set(batch["cpu"]) == {cpus[0]}


def test_records_from_real_udp_packets(ebpf: Ebpf) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open(wakeup_events=1).typed(Record)
    prog = program(ebpf)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind(("127.0.0.1", 0))
        prog.attach(server)
        for i in range(50):
            client.sendto(b"x" * i + struct.pack("<I", i), server.getsockname())
        records: list[Record] = []
        deadline = time.monotonic() + 2
        while len(records) < 50 and time.monotonic() < deadline:
            records += events.poll(timeout=0.5)
    # On a UDP socket the filter sees the UDP header (8 bytes) and the payload.
    assert sorted((r.seq, r.len, r.tail) for r in records) == [(i, 8 + i + 4, i)
                                                              for i in range(50)]
    for seqs in seqs_by_cpu(records).values():
        assert seqs == sorted(seqs)


def test_callback_form_and_no_loss_when_it_raises(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    prog = program(ebpf)
    run(prog, 100, cpus[0])
    seen: list[int] = []
    assert events.poll(0.5, callback=lambda r: seen.append(r.seq)) == 100
    assert seen == list(range(100))

    run(prog, 100, cpus[0])
    got: list[int] = []

    def stop_at_150(record: Record) -> None:
        got.append(record.seq)
        if record.seq == 150:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        events.consume(callback=stop_at_150)
    assert got == list(range(100, 151))
    run(prog, 10, cpus[0])  # records still in the kernel come after the ones kept back
    assert events.consume(callback=lambda r: got.append(r.seq)) == 59
    assert got == list(range(100, 210))


def test_callback_form_across_batches(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open(128).typed(Record)  # 512 KiB per CPU
    prog = program(ebpf)
    total = 2 * BATCH + 500
    run(prog, total, cpus[1])
    seen: list[int] = []
    assert events.consume(callback=lambda r: seen.append(r.seq), max_records=BATCH // 2) == \
        BATCH // 2
    stop = BATCH // 2 + BATCH + 10  # in the second batch this call takes

    def stop_at(record: Record) -> None:
        seen.append(record.seq)
        if record.seq == stop:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        events.poll(0.5, callback=stop_at)
    assert events.poll(0.5, callback=lambda r: seen.append(r.seq)) == total - (stop + 1)
    assert seen == list(range(total))
    assert events.lost() == {}


def test_a_callback_that_closes_the_reader_is_called_no_more(
        ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    """Once the callback closed the reader, the rest of its batch is dropped, not handed to
    it, and the read raises ClosedError as any read of a closed reader does."""
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    run(program(ebpf), 100, cpus[0])
    seen: list[int] = []

    def close_at_the_third(record: Record) -> None:
        seen.append(record.seq)
        if len(seen) == 3:
            events.close()

    with pytest.raises(ClosedError, match="reading map 'EVENTS': closed while"):
        events.consume(callback=close_at_the_third)
    assert seen == [0, 1, 2]
    with pytest.raises(ClosedError):
        events.poll(0, callback=seen.append)


def test_batches_take_turns_between_cpus_and_lose_nothing_between_polls(
        ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    a, b = cpus
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    prog = program(ebpf)
    run(prog, 100, a)  # seq 0..99 on a
    run(prog, 100, b)  # seq 100..199 on b
    first = events.consume(max_records=30)
    second = events.consume(max_records=30)
    # A limited read stops inside one CPU's ring; the next one starts with the other ring.
    assert {r.cpu for r in first} != {r.cpu for r in second}
    assert len({r.cpu for r in first}) == len({r.cpu for r in second}) == 1
    run(prog, 50, a)  # written between two polls: seq 200..249 on a
    taken = first + second
    while batch := events.poll(0.2, max_records=7):
        assert len(batch) <= 7
        taken += batch
    assert seqs_by_cpu(taken) == {a: [*range(100), *range(200, 250)], b: list(range(100, 200))}
    with pytest.raises(ValueError, match="max_records"):
        events.consume(max_records=0)


def test_iteration_stops_early_without_losing_records(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    run(program(ebpf), 20, cpus[0])
    firsts = []
    for record in events:
        firsts.append(record.seq)
        if len(firsts) == 5:
            break
    assert firsts == [0, 1, 2, 3, 4]
    assert [r.seq for r in events.poll(0, max_records=3)] == [5, 6, 7]
    assert [r.seq for r in events] == list(range(8, 20))
    assert list(events) == []


def test_typed_records_and_records_too_short_for_the_type(
        ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open()
    prog = program(ebpf)
    run(prog, 3, cpus[0])
    events.typed(Record * 2)  # 48 bytes: longer than the 28 bytes of a padded record
    with pytest.raises(MapError, match="record of 28 bytes is shorter than 48 bytes"):
        events.consume()
    assert [r.seq for r in events.typed(Record).consume()] == [0, 1, 2]  # nothing was lost
    run(prog, 1, cpus[1])
    length, tail = len(packet(0)) - ETH_HLEN, 7
    assert events.typed(int).consume() == [3 | cpus[1] << 64 | length << 96 | tail << 128]
    with pytest.raises(TypeError, match="record type must be int, bytes or a ctypes type"):
        events.typed(str)


def test_default_wakeup_threshold_and_records_below_it(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)
    prog = program(ebpf)
    run(prog, WAKEUP_EVENTS - 1, cpus[0])
    assert not readable(events, 0.05)  # below the threshold: no wake-up ...
    assert [r.seq for r in events.poll(timeout=5)] == list(range(WAKEUP_EVENTS - 1))  # at once

    # Written while a poll waits, without a wake-up: it takes them when its timeout ends.
    timer = threading.Timer(0.02, run, (prog, 3, cpus[1]))
    timer.start()
    start = time.monotonic()
    try:
        got = events.poll(timeout=0.08)
    finally:
        timer.join()
    assert 0.075 <= time.monotonic() - start < 0.5
    assert [r.seq for r in got] == list(range(WAKEUP_EVENTS - 1, WAKEUP_EVENTS + 2))

    run(prog, 1, cpus[0])  # the threshold, counted on each CPU since its last wake-up
    assert readable(events, 1.0)
    assert [r.seq for r in events.consume()] == [WAKEUP_EVENTS + 2]

    # A poll without a timeout, waiting when 3 records arrive: it takes them within a slice.
    timer = threading.Timer(0.05, run, (prog, 3, cpus[1]))
    timer.start()
    start = time.monotonic()
    try:
        got = events.poll()
    finally:
        timer.join()
    assert [r.seq for r in got] == list(range(WAKEUP_EVENTS + 3, WAKEUP_EVENTS + 6))
    assert time.monotonic() - start < 0.5


def test_wakeup_per_record_and_byte_watermark(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    prog = program(ebpf)
    events = ebpf.map("EVENTS", PerfEventArray).open(wakeup_events=1)
    map_id = events.info().id
    run(prog, 1, cpus[0])
    assert readable(events, 1.0)
    assert len(events.consume()) == 1
    events.close()  # frees the rings and empties the map's slots

    with PerfEventArray.from_id(map_id) as events:
        events.open(wakeup_bytes=10 * SAMPLE)
        run(prog, 10, cpus[0])
        assert not readable(events, 0.05)  # 10 records: not more than the watermark
        run(prog, 1, cpus[0])
        assert readable(events, 1.0)
        assert len(events.consume()) == 11


def test_lost_records_are_counted_per_cpu(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    a, b = cpus
    events = ebpf.map("EVENTS", PerfEventArray).open(1).typed(Record)  # 4 KiB per CPU
    prog = program(ebpf)
    run(prog, 1000, a)
    run(prog, 500, b)
    got = events.consume()
    fitted = seqs_by_cpu(got)
    # A ring of one page holds 102 records of 40 bytes; the first ones are kept.
    assert fitted == {a: list(range(len(fitted[a]))), b: list(range(1000, 1000 + len(fitted[b])))}
    assert 90 <= len(fitted[a]) <= 102 and 90 <= len(fitted[b]) <= 102
    assert events.lost() == {}  # the kernel reports a loss with the next record that fits
    run(prog, 1, a)
    run(prog, 1, b)
    after = seqs_by_cpu(events.consume())
    assert after == {a: [1500], b: [1501]}
    lost = events.lost()
    assert lost == {a: 1000 - len(fitted[a]), b: 500 - len(fitted[b])}
    assert sum(lost.values()) == failed_outputs(ebpf)


def test_asyncio_read_and_async_for(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open().typed(Record)  # below the threshold
    prog = program(ebpf)

    async def main() -> tuple[list[int], list[int], list[int]]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, run, prog, 4, cpus[0])
        first = [r.seq for r in await asyncio.wait_for(events.read(), timeout=2.0)]
        loop.call_later(0.05, run, prog, 6, cpus[1])

        async def take(n: int) -> list[int]:
            seqs = []
            async for record in events:
                seqs.append(record.seq)
                if len(seqs) == n:
                    break
            return seqs

        second = await asyncio.wait_for(take(6), timeout=2.0)
        loop.call_later(0.05, run, prog, WAKEUP_EVENTS, cpus[0])  # with a wake-up
        third = await asyncio.wait_for(events.read(max_records=10), timeout=2.0)
        return first, second, [r.seq for r in third]

    first, second, third = asyncio.run(main())
    assert first == [0, 1, 2, 3]
    assert second == [4, 5, 6, 7, 8, 9]
    assert third == list(range(10, 20))
    assert [r.seq for r in events.consume()] == list(range(20, 10 + WAKEUP_EVENTS))


def test_asyncio_read_times_out_without_records(ebpf: Ebpf) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open()

    async def main() -> None:
        await asyncio.wait_for(events.read(), timeout=0.25)

    start = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(main())
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("receiver", ["process", "other thread"])
def test_ctrl_c_interrupts_a_blocking_poll(ebpf: Ebpf, receiver: str) -> None:
    """SIGINT sent to the process lands on the main thread and interrupts poll() at once; sent
    to another thread, it still reaches the main thread within one wait slice."""
    events = ebpf.map("EVENTS", PerfEventArray).open()
    delay = interrupt_delay(events.poll, receiver)  # no data, no timeout
    assert delay < 0.5


def test_rings_only_on_cpus_below_max_entries(ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    a, b = cpus
    events = ebpf.map("ONE_CPU", PerfEventArray).open().typed(Record)
    prog = program(ebpf, "output_one_cpu")
    run(prog, 5, 0)
    run(prog, 5, b if b != 0 else a)  # no ring in the map for this CPU: the kernel refuses it
    assert [(r.seq, r.cpu) for r in events.consume()] == [(n, 0) for n in range(5)]
    assert failed_outputs(ebpf) == 5 and events.lost() == {}


def test_not_open_closed_bad_arguments_and_wrong_map_type(
        ebpf: Ebpf, cpus: tuple[int, int]) -> None:
    events = ebpf.map("EVENTS", PerfEventArray)
    prog = program(ebpf)
    not_open: tuple[Callable[[], object], ...] = (
        events.consume, events.poll, events.lost, events.fileno, lambda: list(events))
    for read in not_open:
        with pytest.raises(MapError, match="perf buffers of map 'EVENTS' are not open: call open"):
            read()
    for bad in (3, 0, 1 << 52):  # 2**52 pages would wrap the ring's size around
        with pytest.raises(ValueError, match=f"page_count must be a power of two up to .*, "
                                             f"got {bad}"):
            events.open(bad)
    with pytest.raises(ValueError, match="wakeup_events must be 1 .. 2\\*\\*32-1, got 0"):
        events.open(wakeup_events=0)
    with pytest.raises(ValueError, match="give wakeup_events or wakeup_bytes, not both"):
        events.open(wakeup_events=1, wakeup_bytes=64)
    page = os.sysconf("SC_PAGE_SIZE")
    with pytest.raises(ValueError, match=f"wakeup_bytes must be 1 .. {2 * page} .*, got 1048576"):
        events.open(2, wakeup_bytes=1 << 20)

    fds = len(os.listdir("/proc/self/fd"))
    events.open()
    # A perf event per CPU with a ring, libbpf's epoll descriptor, the reader's map descriptor.
    assert len(os.listdir("/proc/self/fd")) == fds + (os.cpu_count() or 0) + 2
    with pytest.raises(MapError, match="already open"):
        events.open()
    run(prog, 2, cpus[0])
    assert len(events.consume(max_records=1)) == 1
    events.close()
    events.close()
    assert len(os.listdir("/proc/self/fd")) == fds - 1  # the map's own descriptor too
    closed: tuple[Callable[[], object], ...] = (
        events.consume, events.poll, events.lost, events.fileno, events.open)
    for call in closed:
        with pytest.raises(ClosedError):
            call()
    run(prog, 1, cpus[0])  # the map's slots were emptied: the kernel refuses the record
    assert failed_outputs(ebpf) == 1

    bss = ebpf.map(".bss", Array)
    with pytest.raises(InvalidMapType, match="PerfEventArray takes PERF_EVENT_ARRAY"):
        PerfEventArray._from_fd(bss._fd.dup())
    with pytest.raises(MapError, match=r"opening the per-CPU perf buffers of map '.bss'.*EINVAL"):
        PerfBufferReader(bss.fd, bss.what, 8, 1, 0)


def test_close_from_another_thread_ends_a_blocking_poll(ebpf: Ebpf) -> None:
    events = ebpf.map("EVENTS", PerfEventArray).open()
    timer = threading.Timer(0.1, events.close)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(ClosedError):
            events.poll()  # no data, no timeout
    finally:
        timer.join()
    assert time.monotonic() - start < 0.5
