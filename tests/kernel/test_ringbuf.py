"""RingBuf against the kernel: records written by socket filters (driven by test_run and by
real UDP packets on loopback), read in every form -- list, callback, iteration, select(),
asyncio -- in order and without loss; Ctrl-C during a blocking poll."""

from __future__ import annotations

import asyncio
import ctypes
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bpf4py import Array, ClosedError, Ebpf, InvalidMapType, MapError, SocketFilter
from bpf4py.btf import BtfError
from bpf4py._native.ringbuf import RingBufferConsumer
from bpf4py.maps.ring_buf import BATCH, RingBuf
from tests.interrupts import interrupt_delay
from tests.packets import udp_packet

ETH_HLEN = 14  # test_run hands a socket filter the packet from the IP header on


class Record(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("len", ctypes.c_uint32), ("tail", ctypes.c_uint32)]


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    with Ebpf.load_file(bpf_object("ringbuf")) as loaded:
        yield loaded


def program(ebpf: Ebpf, name: str) -> SocketFilter:
    prog = ebpf.program(name, SocketFilter)
    prog.load()
    return prog


def packet(tag: int) -> bytes:
    return udp_packet(b"payload-" + struct.pack("<I", tag))


def run(prog: SocketFilter, repeat: int, tag: int = 7) -> None:
    prog.test_run(data_in=packet(tag), repeat=repeat)


def varlen(n: int) -> bytes:
    """Record n of output_varlen."""
    return bytes((n + i) & 0xFF for i in range(n % 32 + 1))


def test_records_from_test_run_arrive_in_order(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    run(program(ebpf, "output_record"), 1000, tag=0xC0FFEE)
    records = ring.poll(timeout=1.0)
    assert [r.seq for r in records] == list(range(1000))
    assert {(r.len, r.tail) for r in records} == {(len(packet(0)) - ETH_HLEN, 0xC0FFEE)}
    assert ring.poll(timeout=0) == [] and ring.consume() == []


def test_reserve_submit_and_discarded_records(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    run(program(ebpf, "reserve_record"), 30)
    assert [r.seq for r in ring.consume()] == [n for n in range(30) if n % 3 != 2]


def test_batch_of_variable_length_records(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    prog = program(ebpf, "output_varlen")
    run(prog, 2000)
    first = ring.consume(max_records=300)
    rest = ring.consume()
    assert first == [varlen(n) for n in range(300)]
    assert rest == [varlen(n) for n in range(300, 2000)]
    run(prog, 64)  # the next batch reuses the collector's buffer
    assert ring.poll(0.5) == [varlen(n) for n in range(2000, 2064)]
    with pytest.raises(ValueError, match="max_records"):
        ring.consume(max_records=0)


def test_a_drain_interrupted_after_the_kernel_handed_records_over_loses_none(
        ebpf: Ebpf, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a long drain raises as the C call returns, with the records taken from
    the kernel but not yet in Python: the next read must still get every one, in order."""
    import bpf4py._native.batch as batch

    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")
    real_loads = batch.marshal.loads
    interrupts = 0

    def interrupted(data: object) -> object:
        nonlocal interrupts
        interrupts += 1
        if interrupts in (1, 3):  # the 1st drain of consume(), the 3rd of iteration
            raise KeyboardInterrupt
        return real_loads(data)

    monkeypatch.setattr(batch.marshal, "loads", interrupted)
    run(prog, 300)
    with pytest.raises(KeyboardInterrupt):
        ring.consume()
    first = ring.consume(max_records=100)  # the kept batch, cut to max_records
    run(prog, 50)
    yielded = []
    with pytest.raises(KeyboardInterrupt):
        for record in ring:  # the 200 left wait in Python; the drain after them is cut
            yielded.append(record)
    rest = list(ring)
    assert len(yielded) == 200
    assert [r.seq for r in first + yielded + rest] == list(range(350))
    with pytest.raises(TypeError, match="callback must be callable"):
        run(prog, 1)
        ring.poll(0, callback=5)  # type: ignore[call-overload]
    assert [r.seq for r in ring.consume()] == [350]  # checked before any record was taken


def test_timeouts_that_would_never_end_or_mean_nothing_are_refused(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    for bad in (float("nan"), -1, -0.5):  # NaN would wait forever on an empty ring
        with pytest.raises(ValueError, match="timeout must be >= 0 or None"):
            ring.poll(bad)
    with pytest.raises(TypeError, match="timeout must be a number"):
        ring.poll("1")  # type: ignore[call-overload]
    assert ring.poll(0.01) == [] and ring.poll(0) == []


def test_records_from_real_udp_packets(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind(("127.0.0.1", 0))
        prog.attach(server)
        for i in range(50):
            client.sendto(b"x" * i + struct.pack("<I", i), server.getsockname())
        records: list[Record] = []
        deadline = time.monotonic() + 2
        while len(records) < 50 and time.monotonic() < deadline:
            records += ring.poll(timeout=0.5)
    # On a UDP socket the filter sees the UDP header (8 bytes) and the payload.
    assert [(r.seq, r.len, r.tail) for r in records] == [(i, 8 + i + 4, i) for i in range(50)]


def test_callback_form_and_no_loss_when_it_raises(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")
    run(prog, 100)
    seen: list[int] = []
    assert ring.poll(0.5, callback=lambda r: seen.append(r.seq)) == 100
    assert seen == list(range(100))

    run(prog, 100)
    got: list[int] = []

    def stop_at_150(record: Record) -> None:
        got.append(record.seq)
        if record.seq == 150:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        ring.consume(callback=stop_at_150)
    assert got == list(range(100, 151))
    run(prog, 10)  # records still in the kernel come after the ones kept back
    assert ring.consume(callback=lambda r: got.append(r.seq)) == 59
    assert got == list(range(100, 210))


def test_callback_form_across_batches(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")
    total = 2 * BATCH + 500  # the ring (256 KiB) holds 10922 of these 24-byte records
    run(prog, total)
    seen: list[int] = []
    first = ring.consume(callback=lambda r: seen.append(r.seq), max_records=BATCH // 2)
    assert first == BATCH // 2

    stop = BATCH // 2 + BATCH + 10  # in the second batch this call takes

    def stop_at(record: Record) -> None:
        seen.append(record.seq)
        if record.seq == stop:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        ring.poll(0.5, callback=stop_at)
    assert ring.poll(0.5, callback=lambda r: seen.append(r.seq)) == total - (stop + 1)
    assert seen == list(range(total))


@pytest.mark.parametrize("closing", ["ring", "ebpf"])
@pytest.mark.parametrize("record", [bytes, Record])
def test_a_callback_that_closes_the_ring_is_called_no_more(
        ebpf: Ebpf, closing: str, record: type) -> None:
    """The callback form hands over a batch of records taken in C; once the callback closed
    the ring (or the Ebpf that owns it) the rest of the batch is dropped, not handed to it,
    and the read raises ClosedError as any read of a closed ring does."""
    ring = ebpf.map("EVENTS", RingBuf).typed(record)
    run(program(ebpf, "output_varlen" if record is bytes else "output_record"), 100)
    seen: list[object] = []

    def close_at_the_third(r: object) -> None:
        seen.append(r)
        if len(seen) == 3:
            (ring if closing == "ring" else ebpf).close()

    with pytest.raises(ClosedError, match="reading map 'EVENTS': closed while"):
        ring.poll(0.5, callback=close_at_the_third)
    assert ring.closed and len(seen) == 3
    if record is bytes:  # the records handed over are bytes of their own, whole after close
        assert seen == [varlen(n) for n in range(3)]
    else:
        assert [r.seq for r in seen] == [0, 1, 2]  # type: ignore[attr-defined]
    with pytest.raises(ClosedError):
        ring.consume(callback=seen.append)


def test_iteration_stops_early_without_losing_records(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    run(program(ebpf, "output_record"), 20)
    firsts = []
    for record in ring:
        firsts.append(record.seq)
        if len(firsts) == 5:
            break
    assert firsts == [0, 1, 2, 3, 4]
    assert [r.seq for r in ring.poll(0, max_records=3)] == [5, 6, 7]
    assert [r.seq for r in ring] == list(range(8, 20))
    assert list(ring) == []


def test_typed_records_and_records_too_short_for_the_type(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    prog = program(ebpf, "output_record")
    run(prog, 3)
    ring.typed(Record * 2)  # 32 bytes: longer than the 16-byte records
    with pytest.raises(MapError, match="record of 16 bytes is shorter than 32 bytes"):
        ring.consume()
    assert [r.seq for r in ring.typed(Record).consume()] == [0, 1, 2]  # nothing was lost
    run(prog, 1)
    seq, length, tail = 3, len(packet(0)) - ETH_HLEN, 7
    assert ring.typed(int).consume() == [seq | length << 64 | tail << 96]
    with pytest.raises(TypeError, match="record type must be int, bytes or a ctypes type"):
        ring.typed(str)


def test_records_typed_by_btf_name_format_and_dtype(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    prog = program(ebpf, "output_record")
    length = len(packet(0)) - ETH_HLEN
    run(prog, 3)
    records = ring.typed("struct record").consume()  # the object's BTF names the type
    assert [(r.seq, r.len, r.tail) for r in records] == [(n, length, 7) for n in range(3)]
    assert records[0]._asdict() == {"seq": 0, "len": length, "tail": 7}
    run(prog, 2)
    assert ring.typed("=QII").consume() == [(3, length, 7), (4, length, 7)]
    run(prog, 1)
    assert ring.typed("=Q").consume() == [5]  # a shorter type reads the first bytes
    dtype = np.dtype([("seq", "<u8"), ("len", "<u4"), ("tail", "<u4")])
    run(prog, 1)
    [one] = ring.typed(dtype).consume()
    assert (int(one["seq"]), int(one["len"])) == (6, length)
    with pytest.raises(BtfError, match="no type 'struct nope'"):
        ring.typed("struct nope")


def test_poll_array_is_the_records_as_one_structured_array(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    prog = program(ebpf, "output_record")
    with pytest.raises(MapError, match="give typed\\(\\) a record type"):
        ring.poll_array()
    ring.typed("struct record")
    assert len(ring.poll_array()) == 0
    run(prog, 5000, tag=0xBEEF)
    batch = ring.poll_array(1.0, max_records=4000)
    assert batch.dtype.names == ("seq", "len", "tail") and len(batch) == 4000
    assert batch["seq"].tolist() == list(range(4000)) and set(batch["tail"]) == {0xBEEF}
    rest = ring.poll_array()
    assert rest["seq"].tolist() == list(range(4000, 5000))
    run(prog, 2)
    ring.typed(Record * 2)  # 32 bytes: the 16-byte records are too short, and stay
    with pytest.raises(MapError, match="record of 16 bytes is shorter than 32 bytes"):
        ring.poll_array()
    assert ring.typed(ctypes.c_uint64).poll_array().tolist() == [5000, 5001]


def test_poll_waits_for_the_timeout_then_returns_nothing(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    start = time.monotonic()
    assert ring.poll(timeout=0.15) == []
    assert 0.14 <= time.monotonic() - start < 1.0
    assert ring.poll(timeout=0.05, callback=print) == 0


def test_poll_wakes_up_when_a_record_arrives(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")
    timer = threading.Timer(0.1, run, (prog, 2))
    timer.start()
    start = time.monotonic()
    try:
        records = ring.poll()  # no timeout: waits for the records
    finally:
        timer.join()
    assert [r.seq for r in records] in ([0, 1], [0])  # the second may land after the wake-up
    assert time.monotonic() - start < 1.0


def test_select_on_fileno(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    assert select.select([ring], [], [], 0)[0] == []
    run(program(ebpf, "output_record"), 3)
    assert select.select([ring], [], [], 1.0)[0] == [ring]
    assert len(ring.consume()) == 3
    assert select.select([ring.fileno()], [], [], 0)[0] == []


def test_asyncio_read_and_async_for(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    prog = program(ebpf, "output_record")

    async def main() -> tuple[list[int], list[int]]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, run, prog, 4)
        first = [r.seq for r in await asyncio.wait_for(ring.read(), timeout=2.0)]
        loop.call_later(0.05, run, prog, 6)

        async def take(n: int) -> list[int]:
            seqs = []
            async for record in ring:
                seqs.append(record.seq)
                if len(seqs) == n:
                    break
            return seqs

        return first, await asyncio.wait_for(take(6), timeout=2.0)

    first, second = asyncio.run(main())
    assert first == [0, 1, 2, 3]
    assert second == [4, 5, 6, 7, 8, 9]


def test_asyncio_read_times_out_without_records(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)

    async def main() -> None:
        await asyncio.wait_for(ring.read(), timeout=0.1)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(main())


@pytest.mark.parametrize("receiver", ["process", "other thread"])
def test_ctrl_c_interrupts_a_blocking_poll(ebpf: Ebpf, receiver: str) -> None:
    """SIGINT sent to the process lands on the main thread and interrupts poll() at once; sent
    to another thread, it still reaches the main thread within one wait slice."""
    ring = ebpf.map("EVENTS", RingBuf)
    delay = interrupt_delay(ring.poll, receiver)  # no data, no timeout
    assert delay < 0.5


def test_closed_ring_and_wrong_map_types(ebpf: Ebpf) -> None:
    ring = ebpf.map("EVENTS", RingBuf)
    run(program(ebpf, "output_record"), 2)
    assert len(ring.consume(max_records=1)) == 1  # the ring is mapped now
    ring.close()
    ring.close()
    with pytest.raises(ClosedError):
        ring.poll(0)
    bss = ebpf.map(".bss", Array)
    with pytest.raises(InvalidMapType, match="RingBuf takes RINGBUF"):
        RingBuf._from_fd(bss._fd.dup())
    with pytest.raises(MapError, match=r"mapping the ring buffer of map '.bss'.*EINVAL"):
        RingBufferConsumer(bss.fd, bss.what)
