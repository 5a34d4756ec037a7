"""A ring buffer fed by a raw tracepoint on the syscalls this test makes, read live."""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable
from pathlib import Path

from bpf4py import EbpfLoader, RawTracePoint, RingBuf
from tests.syscalls import getppid_nr


class Event(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("tgid", ctypes.c_uint32), ("nr", ctypes.c_uint32)]


def test_records_for_each_syscall_in_order(bpf_object: Callable[[str], Path]) -> None:
    loader = (EbpfLoader().override_global("target_tgid", os.getpid())
              .override_global("target_nr", getppid_nr()))
    with loader.load_file(bpf_object("ringbuf_syscalls")) as ebpf:
        prog = ebpf.program("on_getppid", RawTracePoint)
        prog.load()
        ring = ebpf.map("EVENTS", RingBuf).typed(Event)
        assert ring.poll(timeout=0) == []
        with prog.take_link(prog.attach("sys_enter")):
            for _ in range(100):
                os.getppid()
            events = ring.poll(timeout=1.0)
            while len(events) < 100:
                more = ring.poll(timeout=1.0)
                assert more, f"only {len(events)} of 100 records arrived"
                events += more

            async def one_more() -> list[Event]:
                os.getppid()
                return await asyncio.wait_for(ring.read(max_records=1), 5)

            last = asyncio.run(one_more())
        os.getppid()  # detached: no record
        assert [e.seq for e in events] == list(range(100))
        assert {(e.tgid, e.nr) for e in events} == {(os.getpid(), getppid_nr())}
        assert [e.seq for e in last] == [100]
        assert ring.poll(timeout=0.2) == []
