"""Threads: 8 threads hammer one map while a reader iterates; the final state is consistent."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, HashMap, KeyNotFound, RingBuf, SocketFilter
from tests.packets import udp_packet

pytestmark = pytest.mark.kernel
OPS = int(os.environ.get("BPF4PY_THREAD_OPS", "100000"))


class Record(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("len", ctypes.c_uint32), ("tail", ctypes.c_uint32)]


RECORDS = 40_000


def ring_traffic(ebpf: Ebpf, errors: list[BaseException]) -> tuple[threading.Thread,
                                                                   threading.Thread, list[int]]:
    """A producer thread (the program run by test_run writes one ring record per run) and a
    reader thread that polls them; returns both threads and the list of seen sequence numbers."""
    prog = ebpf.program("output_record", SocketFilter)
    prog.load()
    ring = ebpf.map("EVENTS", RingBuf).typed(Record)
    seen: list[int] = []
    packet = udp_packet(b"x" * 8)

    def produce() -> None:
        try:
            for done in range(0, RECORDS, 1000):
                while done - len(seen) > 4000:  # stay well inside the ring (~10k records)
                    time.sleep(0.001)
                prog.test_run(data_in=packet, repeat=1000)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def read() -> None:
        try:
            deadline = time.monotonic() + 300
            while len(seen) < RECORDS and time.monotonic() < deadline:
                seen.extend(r.seq for r in ring.poll(timeout=0.1))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    return threading.Thread(target=produce), threading.Thread(target=read), seen


def test_eight_threads_of_mixed_operations_on_one_map(
        bpf_object: Callable[[str], Path]) -> None:
    threads_n, per_thread = 8, OPS
    errors: list[BaseException] = []
    with HashMap.create(4, 8, threads_n * 64, name="threads") as m:

        def worker(t: int) -> None:
            try:
                for i in range(per_thread):
                    key = t * 64 + i % 64
                    op = i % 4
                    if op == 0:
                        m[key] = i
                    elif op == 1:
                        try:
                            m[key]
                        except KeyNotFound:
                            pass
                    elif op == 2:
                        key in m
                    else:
                        m[key] = i  # each thread owns its keys: last write wins
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    for _ in m.items():
                        pass
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        r = threading.Thread(target=reader)
        ebpf = Ebpf.load_file(bpf_object("ringbuf"))
        producer, ring_reader, seen = ring_traffic(ebpf, errors)
        producer.start()
        ring_reader.start()
        r.start()
        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=300)
        stop.set()
        r.join(timeout=60)
        producer.join(timeout=300)
        ring_reader.join(timeout=300)
        ebpf.close()
        assert not errors, errors[:3]
        assert seen == list(range(RECORDS))  # every record, in order, none lost
        assert not any(w.is_alive() for w in workers) and not r.is_alive()
        # Every key's last write was op 3 (i % 4 == 3) of the last round that touched it.
        expected = {}
        for t in range(threads_n):
            for i in range(per_thread):
                if i % 4 in (0, 3):
                    expected[t * 64 + i % 64] = i
        assert dict(m.items()) == expected
