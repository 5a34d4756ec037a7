"""PerfEventArray figures for benchmarks/run.py: draining the per-CPU perf rings (bpf4py
against C libbpf's perf_buffer__consume, on the same map and program) and what a wake-up per
record costs the writing program.

``measure()`` returns rows of run.py's ``Result``; run alone (as root) it prints them::

    .venv/bin/python benchmarks/perf_event_array.py
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from run import BUILD, HERE, PACKET, TRIALS, Baseline, Result, build_baseline, report

RECORDS = 100_000        # records per drain (16 bytes each, 32 in the ring)
PAGES = 1024             # pages per CPU ring: 4 MiB, room for 131072 records
WRITES = 20_000          # records per writer-cost trial


@contextmanager
def one_cpu() -> Iterator[None]:
    """Run this process (and the C baseline it starts) on one CPU: test_run then writes every
    record to that CPU's ring."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def measure() -> list[Result]:
    """The PerfEventArray rows: drain rates (batch, callback, one list) and the writer's cost
    per record with a wake-up per record and with the default wake-ups."""
    from bpf4py import Ebpf, SocketFilter
    from bpf4py.clang import compile_program
    from bpf4py.maps._reader import BATCH
    from bpf4py.maps.perf_event_array import WAKEUP_EVENTS, PerfEventArray

    obj = compile_program(HERE / "perf_event_array.bpf.c", BUILD / "perf_event_array.bpf.o")
    c = Baseline(build_baseline("perf_event_array"))
    rows: list[Result] = []
    with Ebpf.load_file(obj) as ebpf, one_cpu():
        fill = ebpf.program("fill_perf", SocketFilter)
        fill.load()
        perf = ebpf.map("PERF", PerfEventArray)
        # First the C baseline: its perf buffer takes the map's slots and empties them on exit.
        c_rate = 1e9 / c(perf.fd, fill.fd, RECORDS, TRIALS + 1, PAGES, fds=(perf.fd, fill.fd))
        perf.open(PAGES)

        def drain_rate(drain: Callable[[], list[bytes] | int]) -> float:
            """Records/s of ``drain()`` on rings holding RECORDS records.  A list it returns is
            freed after the clock stops; batches and callback arguments are timed."""
            times = []
            for _ in range(TRIALS + 1):  # the first grows the batch buffer
                fill.test_run(data_in=PACKET, repeat=RECORDS)
                start = time.perf_counter_ns()
                result = drain()
                times.append(time.perf_counter_ns() - start)
                got = len(result) if isinstance(result, list) else result
                assert got == RECORDS, f"drained {got} records, expected {RECORDS}"
                del result
            assert perf.lost() == {}, perf.lost()
            return RECORDS * 1e9 / min(times[1:])

        def batches() -> int:
            drained = 0
            while batch := perf.consume(max_records=BATCH):
                drained += len(batch)
            return drained

        def handle(record: bytes) -> None:
            pass

        rate = drain_rate(batches)
        rows.append(Result(f"PerfEventArray drain, batch ({BATCH}/call)", "records/s", c_rate,
                           rate, ">= 15M records/s", rate >= 15e6))
        rate = drain_rate(lambda: perf.consume(callback=handle))
        rows.append(Result("PerfEventArray drain, callback", "records/s", c_rate, rate,
                           ">= 5M records/s", rate >= 5e6))
        rate = drain_rate(perf.consume)
        rows.append(Result(f"PerfEventArray drain, one list of {RECORDS // 1000}k",
                           "records/s", c_rate, rate, ">= 15M records/s", rate >= 15e6))
        map_id = perf.info().id
        perf.close()

        def writer_ns(wakeup_events: int) -> float:
            """ns per record of bpf_perf_event_output in the program (test_run repeat)."""
            with PerfEventArray.from_id(map_id) as events:
                events.open(PAGES, wakeup_events=wakeup_events)
                times = []
                for _ in range(TRIALS + 1):
                    start = time.perf_counter_ns()
                    fill.test_run(data_in=PACKET, repeat=WRITES)
                    times.append(time.perf_counter_ns() - start)
                    assert len(events.consume()) == WRITES
                return min(times[1:]) / WRITES

        every = writer_ns(1)
        default = writer_ns(WAKEUP_EVENTS)
        rows.append(Result("perf output, wake-up per record", "ns/op", None, every,
                           "(for comparison)", True))
        rows.append(Result(f"perf output, wake-up per {WAKEUP_EVENTS} (default)", "ns/op", None,
                           default, "<= 1/4 of per record", default * 4 <= every))
    return rows


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("benchmarks/perf_event_array.py needs root (it loads BPF programs)")
    results: list[Result] = []
    for row in measure():
        report(row, results)
