"""Tracing and storage maps against the kernel (tests/bpf/trace_maps.bpf.c): StackTraceMap,
TaskStorage, CgrpStorage, SkStorage, InodeStorage, UserRingBuf.

The raw tracepoint programs run on every sys_enter and act on getppid(2) only (and, where a
count must be exact, only in this process: its tgid is a global set before load).
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bpf4py import ClosedError, Ebpf, EbpfLoader, KeyNotFound, MapError
from bpf4py.fs import cgroup2_mount
from bpf4py.ksyms import kernel_symbols
from bpf4py.maps.array import Array
from bpf4py.maps.stack_trace import StackTrace, StackTraceMap
from bpf4py.maps.storage import CgrpStorage, InodeStorage, SkStorage, TaskStorage
from bpf4py.maps.user_ring_buf import UserRingBuf
from bpf4py.programs.cgroup import CgroupAttachMode
from bpf4py.programs.cgroup_skb import CgroupSkb, CgroupSkbAttachType
from bpf4py.programs.raw_trace_point import RawTracePoint
from tests.kernel_features import CGROUP_STORAGE, requires
from tests.syscalls import getppid_nr


class SkStats(ctypes.Structure):
    _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    loader = (EbpfLoader().override_global("target_tgid", os.getpid())
              .override_global("target_nr", getppid_nr()))
    with loader.load_file(bpf_object("trace_maps")) as obj:
        yield obj


@pytest.fixture
@requires(CGROUP_STORAGE)
def cgrp_ebpf(bpf_object: Callable[[str], Path]) -> Iterator[Ebpf]:
    loader = EbpfLoader().override_global("target_nr", getppid_nr())
    with loader.load_file(bpf_object("trace_cgrp_storage")) as obj:
        yield obj


def attached(ebpf: Ebpf, name: str) -> RawTracePoint:
    prog = ebpf.program(name, RawTracePoint)
    prog.load()
    prog.attach("sys_enter")
    return prog


def getppid(n: int = 1) -> None:
    for _ in range(n):
        os.getppid()


# --- StackTraceMap ----------------------------------------------------------------------------


def test_stack_trace_of_a_real_syscall(ebpf: Ebpf) -> None:
    stacks = ebpf.map("STACKS", StackTraceMap)
    user_stacks = ebpf.map("USER_STACKS", StackTraceMap)
    assert list(stacks.stack_ids()) == [] == list(user_stacks.stack_ids())
    # The program stays loaded until the end: its /proc/kallsyms entry, which names the
    # innermost frame, goes away when it is unloaded.
    prog = attached(ebpf, "record_stack")
    getppid()
    ids = ebpf.map("STACK_IDS", Array)
    kernel_id, user_id = ids[0], ids[1]
    assert 0 <= kernel_id < stacks.max_entries and 0 <= user_id < stacks.max_entries, \
        (kernel_id, user_id)  # negative: bpf_get_stackid's errno
    assert list(stacks.stack_ids()) == [kernel_id] == list(stacks)
    assert list(user_stacks.stack_ids()) == [user_id]

    trace = stacks.get(kernel_id)
    assert isinstance(trace, StackTrace) and trace.id == kernel_id
    assert 3 <= len(trace.frames) <= 127
    assert all(ip >= 1 << 63 for ip in trace.frames)  # kernel addresses
    names = trace.symbolize()
    assert len(names) == len(trace.frames)
    # The BPF program itself is the innermost frame; the syscall entry is further out.
    assert re.match(r"bpf_prog_[0-9a-f]+_record_stack\+0x[0-9a-f]+ \[bpf\]", names[0]), names
    assert any(n.startswith(("do_syscall_64+", "entry_SYSCALL")) for n in names), names
    assert names.index(next(n for n in names if n.startswith("do_syscall_64"))) > 0

    user = user_stacks[user_id]
    assert user.frames and all(ip < 1 << 63 for ip in user.frames)  # user-space addresses
    assert user.symbolize() == [f"{ip:#x}" for ip in user.frames]  # no kernel symbol covers them

    assert dict(stacks.items()) == {kernel_id: trace}
    assert dict(user_stacks.items()) == {user_id: user}
    prog.unload()
    assert [t.id for t in stacks.values()] == [kernel_id]
    user_stacks.remove(user_id)
    with pytest.raises(KeyNotFound):
        user_stacks.get(user_id)
    with pytest.raises(KeyNotFound):
        del user_stacks[user_id]
    assert list(user_stacks.stack_ids()) == []
    with pytest.raises(MapError, match="bpf_get_stackid"):
        stacks.insert(7, [1, 2, 3])
    stacks.clear()
    assert len(stacks) == 0


def test_stack_trace_map_standalone_and_kernel_symbols() -> None:
    with StackTraceMap.create(4, 8 * 16, 8, name="stacks") as stacks:
        assert list(stacks.stack_ids()) == []
        with pytest.raises(KeyNotFound):
            stacks.get(0)
    symbols = kernel_symbols()
    assert kernel_symbols() is symbols  # cached
    assert kernel_symbols(refresh=True) is not symbols
    assert len(symbols) > 1000
    last = symbols.resolve((1 << 64) - 1)
    assert last is not None and last.offset > 0
    again = symbols.resolve(last.address)
    assert again is not None and (again.name, again.offset) == (last.name, 0)


# --- TaskStorage -------------------------------------------------------------------------------


def test_task_storage_filled_by_a_program_read_with_a_pidfd(ebpf: Ebpf) -> None:
    tasks = ebpf.map("TASK_CALLS", TaskStorage)
    pidfd = os.pidfd_open(os.getpid())
    try:
        assert pidfd not in tasks
        with pytest.raises(KeyNotFound, match="no value for pidfd"):
            tasks.get(pidfd)
        with attached(ebpf, "count_task_calls"):
            getppid(3)
        assert tasks[pidfd] == 3 and pidfd in tasks
        tasks[pidfd] = 40  # user space writes the same storage the program uses
        with attached(ebpf, "count_task_calls"):
            getppid(2)
        assert tasks.get(pidfd) == 42
        tasks.remove(pidfd)
        assert pidfd not in tasks
        with pytest.raises(KeyNotFound):
            tasks.remove(pidfd)
    finally:
        os.close(pidfd)


def test_task_storage_of_another_process(ebpf: Ebpf) -> None:
    tasks = ebpf.map("TASK_CALLS", TaskStorage)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        time.sleep(30)
        os._exit(0)
    try:
        with open(os.pidfd_open(pid), "rb", buffering=0) as pidfd:  # anything with fileno()
            assert pidfd not in tasks
            tasks.insert(pidfd, 7)
            assert tasks[pidfd.fileno()] == 7
            with pytest.raises(MapError) as exc:
                tasks.insert(pidfd, 8, flags=1)  # BPF_NOEXIST
            assert exc.value.errno_name == "EEXIST"
            tasks.update({pidfd: 9})
            assert tasks[pidfd] == 9
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_storage_maps_cannot_be_listed_or_created(ebpf: Ebpf) -> None:
    tasks = ebpf.map("TASK_CALLS", TaskStorage)
    for call in (lambda: list(tasks), lambda: len(tasks), lambda: list(tasks.keys()),
                 lambda: list(tasks.items()), lambda: list(tasks.values()), tasks.clear,
                 tasks.pop_items):
        with pytest.raises(MapError, match="cannot list the pidfds"):
            call()
    for cls in (SkStorage, InodeStorage, TaskStorage, CgrpStorage):
        with pytest.raises(MapError, match="need BTF"):
            cls.create(4, 8, 0)


def test_storage_key_errors(ebpf: Ebpf) -> None:
    tasks = ebpf.map("TASK_CALLS", TaskStorage)
    with pytest.raises(TypeError, match="a key must be a pidfd"):
        tasks.get("1234")  # paths are not tasks
    with pytest.raises(TypeError):
        tasks.get(1.5)
    sock = socket.socket()
    sock.close()
    with pytest.raises(ClosedError):
        tasks.get(sock)
    with open("/dev/null") as f, pytest.raises(MapError) as exc:  # not a pidfd
        tasks.get(f)
    assert exc.value.errno_name == "EBADF"
    pidfd = os.pidfd_open(os.getpid())
    try:
        with pytest.raises(MapError) as exc:
            tasks.insert(pidfd, b"too long!")
        assert "8 bytes" in str(exc.value)
    finally:
        os.close(pidfd)


# --- CgrpStorage -------------------------------------------------------------------------------


def run_in_cgroup(cgroup: Path, calls: int) -> None:
    """Fork a child that joins ``cgroup`` and makes ``calls`` getppid calls."""
    procs = os.open(cgroup / "cgroup.procs", os.O_WRONLY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.write(procs, b"0")  # "0": the writing process
            getppid(calls)
        finally:
            os._exit(0)
    os.close(procs)
    _, status = os.waitpid(pid, 0)
    assert status == 0


def test_cgroup_storage_filled_by_a_program_read_with_the_path(cgrp_ebpf: Ebpf,
                                                               cgroup: Path) -> None:
    ebpf = cgrp_ebpf
    counts = ebpf.map("CGROUP_CALLS", CgrpStorage)
    assert cgroup not in counts
    with attached(ebpf, "count_cgroup_calls"):
        run_in_cgroup(cgroup, 5)
    assert counts[cgroup] == 5  # a Path
    assert counts.get(str(cgroup)) == 5
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert counts[fd] == 5
        counts[fd] = 100
        with attached(ebpf, "count_cgroup_calls"):
            run_in_cgroup(cgroup, 2)
        assert counts[cgroup] == 102
        del counts[cgroup]
        assert fd not in counts
    finally:
        os.close(fd)


def test_cgroup_storage_key_errors(cgrp_ebpf: Ebpf, tmp_path: Path) -> None:
    counts = cgrp_ebpf.map("CGROUP_CALLS", CgrpStorage)
    with pytest.raises(MapError) as exc:
        counts.get(tmp_path)  # a directory, but no cgroup
    assert exc.value.errno_name == "EBADF"
    with pytest.raises(FileNotFoundError) as not_found:
        counts.get(tmp_path / "missing")
    assert isinstance(not_found.value, MapError) and str(tmp_path / "missing") in str(
        not_found.value)
    with pytest.raises(MapError) as exc:
        counts.get(Path(cgroup2_mount()) / "cgroup.procs")  # not a directory
    assert exc.value.errno_name == "ENOTDIR"


# --- SkStorage ---------------------------------------------------------------------------------


@contextmanager
def member_of(cgroup: Path) -> Iterator[None]:
    """This process in ``cgroup`` for the block (sockets remember where they were created)."""
    with open("/proc/self/cgroup") as f:
        home = next(line.split("::", 1)[1].strip() for line in f if line.startswith("0::"))
    (cgroup / "cgroup.procs").write_text(str(os.getpid()))
    try:
        yield
    finally:
        (Path(cgroup2_mount()) / home.lstrip("/") / "cgroup.procs").write_text(str(os.getpid()))


def test_socket_storage_filled_by_a_cgroup_program(ebpf: Ebpf, cgroup: Path) -> None:
    stats = ebpf.map("SK_STATS", SkStorage).typed(value=SkStats)
    prog = ebpf.program("count_socket_egress", CgroupSkb)
    prog.load()
    prog.attach(cgroup, CgroupSkbAttachType.EGRESS, CgroupAttachMode.ALLOW_MULTIPLE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outside:
        server.bind(("127.0.0.1", 0))
        with member_of(cgroup):
            inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with inside:
            with pytest.raises(KeyNotFound, match="no value for socket"):
                stats.get(inside)
            for size in (10, 20, 30):
                inside.sendto(b"x" * size, server.getsockname())
                outside.sendto(b"y" * size, server.getsockname())
            got = stats[inside]
            assert (got.packets, got.bytes) == (3, 3 * 28 + 60)  # IPv4 + UDP headers
            assert outside not in stats  # created outside the cgroup: the program never ran
            stats[outside] = SkStats(1, 2)
            assert (stats[outside.fileno()].packets, stats[outside].bytes) == (1, 2)
            stats.remove(inside)
            assert inside not in stats
            inside.sendto(b"z", server.getsockname())
            assert stats[inside].packets == 1  # created again by the program
    with pytest.raises(TypeError, match="a key must be a socket"):
        stats.get("/tmp")


# --- InodeStorage ------------------------------------------------------------------------------
# Only LSM programs may call bpf_inode_storage_get, and this kernel refuses to load LSM (and
# fentry) programs (EPERM even for libbpf's own loader), so these tests drive the map from user
# space: the kernel resolves each key to the file's inode.


def test_inode_storage_keys_are_files(ebpf: Ebpf, tmp_path: Path) -> None:
    tags = ebpf.map("INODE_TAGS", InodeStorage)
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    with pytest.raises(KeyNotFound, match="no value for file"):
        tags.get(a)
    tags.insert(a, 11)
    tags[str(b)] = 22
    with open(a) as fa, open(a) as fa2:  # two descriptors, one inode: one value
        assert tags[fa] == 11 and tags[fa2.fileno()] == 11
        tags[fa2] = 12
        assert tags[a] == 12
    os.link(a, tmp_path / "hard_link")
    assert tags[tmp_path / "hard_link"] == 12
    assert tags[b] == 22 and tmp_path not in tags
    tags[tmp_path] = 33  # directories are inodes too
    assert tags[tmp_path] == 33
    del tags[a]
    assert a not in tags and tags[b] == 22
    with pytest.raises(FileNotFoundError):
        tags.get(tmp_path / "missing")


# --- UserRingBuf -------------------------------------------------------------------------------


def u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def drained(ebpf: Ebpf) -> tuple[int, list[int]]:
    """Run the draining program once: (samples it drained, DRAINED after)."""
    prog = ebpf.program("drain_requests", RawTracePoint)
    if not prog.loaded:
        prog.load()
    n = prog.test_run().return_value
    return n, list(ebpf.map("DRAINED", Array).values())


def fill(ring: UserRingBuf) -> int:
    """Submit 8-byte samples until the ring is full (ENOSPC at once); how many it took."""
    sent = 0
    with pytest.raises(MapError, match=r"ENOSPC.*drains it") as exc:
        while True:
            ring.submit(u64(1))
            sent += 1
    assert exc.value.errno_name == "ENOSPC"
    return sent


def test_user_ring_buffer_samples_reach_the_program_in_order(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    assert drained(ebpf) == (0, [0, 0, 0, 0])
    ring.submit(u64(5))
    ring.submit(bytearray(u64(6)) + b"extra bytes")
    ring.submit(memoryview(u64(7)))
    with ring.reserve(8) as buf:
        assert isinstance(buf, memoryview) and len(buf) == 8 and not buf.readonly
        buf[:] = u64(30)
    ring.submit(b"abc")  # too short for the program's 8-byte read
    # count, sum, short samples, last full sample
    assert drained(ebpf) == (5, [5, 48, 1, 30])
    assert drained(ebpf) == (0, [0, 0, 0, 0])


def test_user_ring_buffer_reserve_discards_on_error(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    with pytest.raises(RuntimeError), ring.reserve(8) as buf:
        buf[:] = u64(1000)
        raise RuntimeError("changed my mind")
    with pytest.raises(ValueError):
        buf[0] = 1  # released after the block
    with ring.reserve(16) as kept:
        kept[:8] = u64(1)
    with pytest.raises(ValueError):
        bytes(kept)
    assert drained(ebpf) == (1, [1, 1, 0, 1])


def test_user_ring_buffer_full_waits_and_times_out(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    sent = fill(ring)
    assert 4096 // 16 - 1 <= sent <= 4096 // 16  # 8-byte header + 8-byte sample each
    start = time.monotonic()
    with pytest.raises(MapError, match="stayed full for 0.25 s"):
        ring.submit(u64(1), timeout=0.25)
    assert 0.2 <= time.monotonic() - start < 2
    assert drained(ebpf)[0] == sent
    ring.submit(u64(2), timeout=None)  # room again: no wait
    ring.submit(u64(3), timeout=1.0)
    assert drained(ebpf) == (2, [2, 5, 0, 3])


def test_user_ring_buffer_waiting_writer_resumes_when_a_program_drains(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    sent = fill(ring)
    done = threading.Event()

    def write() -> None:
        ring.submit(u64(7), timeout=None)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not done.wait(0.3)  # full: it waits
        start = time.monotonic()
        assert drained(ebpf)[0] == sent
        assert done.wait(5) and time.monotonic() - start < 2  # woken by the drain
    finally:
        writer.join(10)
    assert drained(ebpf) == (1, [1, 7, 0, 7])


def test_user_ring_buffer_wait_for_too_little_room_does_not_spin(ebpf: Ebpf) -> None:
    """The ring polls writable while it is not full; a writer waiting for more room than that
    must sleep until a program drains, not retry at once (libbpf's own wait spins)."""
    ring = ebpf.map("REQUESTS", UserRingBuf)
    ring.submit(bytes(3000))  # of 4096 bytes: 1088 left
    cpu = time.process_time()
    with pytest.raises(MapError, match="stayed full for 0.5 s"):
        ring.submit(bytes(2000), timeout=0.5)
    assert time.process_time() - cpu < 0.25


def test_user_ring_buffer_close_ends_waiting_writers_promptly(ebpf: Ebpf) -> None:
    """close() from another thread while writers wait for room (timeout=None) returns at once,
    and every waiting submit raises ClosedError within a wait slice, round after round.

    The writers once held the producer's lock through each 0.1 s wait and took it again at
    once, so close() queued behind all of them -- about 0.2 s per writer here, and 6 s seen
    once with a single writer; 16 writers make that stall exceed the bound every round."""
    full = ebpf.map("REQUESTS", UserRingBuf)
    fill(full)
    map_id = full.info().id

    def write(ring: UserRingBuf, ended: list[float]) -> None:
        with pytest.raises(ClosedError):
            ring.submit(u64(1), timeout=None)
        ended.append(time.monotonic())

    for round_ in range(30):
        ring = UserRingBuf.from_id(map_id)  # a new handle on the same full ring
        ended: list[float] = []
        writers = [threading.Thread(target=write, args=(ring, ended)) for _ in range(16)]
        for writer in writers:
            writer.start()
        time.sleep(0.05)  # into their wait
        start = time.monotonic()
        ring.close()
        closing = time.monotonic() - start
        for writer in writers:
            writer.join(10)
        assert len(ended) == len(writers), f"round {round_}: a writer did not end"
        assert closing < 2 and max(ended) - start < 2, \
            f"round {round_}: close took {closing:.2f} s, the last writer ended after " \
            f"{max(ended) - start:.2f} s"


def test_user_ring_buffer_writers_in_threads(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    start = threading.Barrier(4)

    def write(base: int) -> None:
        start.wait()
        for i in range(50):
            if i % 2:
                ring.submit(u64(base + i))
            else:
                with ring.reserve(8) as buf:
                    buf[:] = u64(base + i)

    threads = [threading.Thread(target=write, args=(1000 * t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = sum(1000 * t + i for t in range(4) for i in range(50))
    assert drained(ebpf)[1][:3] == [200, expected, 0]


def test_user_ring_buffer_bad_input_and_close(ebpf: Ebpf) -> None:
    ring = ebpf.map("REQUESTS", UserRingBuf)
    for size in (0, -1, 1 << 32):
        with pytest.raises(ValueError, match="size must be"), ring.reserve(size):
            pass
    with pytest.raises(TypeError), ring.reserve(8.0):  # type: ignore[arg-type]
        pass
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError, match="timeout must be >= 0"):
            ring.submit(b"x", timeout=bad)
    with pytest.raises(ValueError):
        ring.submit(b"")
    with pytest.raises(MapError) as exc:
        ring.submit(bytes(8192))  # larger than the ring
    assert exc.value.errno_name == "E2BIG"
    ring.submit(u64(1))
    ring.close()
    ring.close()
    with pytest.raises(ClosedError):
        ring.submit(u64(1))


def test_a_reservation_written_after_close_touches_mapped_memory(
        bpf_object: Callable[[str], Path]) -> None:
    # In a child: were the ring unmapped under the view, the write would be a SIGSEGV.
    code = f"""if True:
        from bpf4py import ClosedError, Ebpf
        from bpf4py.maps.user_ring_buf import UserRingBuf
        for closing in ("ring", "ebpf"):
            ebpf = Ebpf.load_file({str(bpf_object("trace_maps"))!r})
            ring = ebpf.map("REQUESTS", UserRingBuf)
            try:
                with ring.reserve(8) as buf:
                    kept = buf[0:4]
                    (ring if closing == "ring" else ebpf).close()
                    buf[:] = b"12345678"
            except ClosedError as exc:
                print(closing, "closed" in str(exc))
            kept[:] = b"abcd"  # a slice kept past the block
            ebpf.close()
        print("survived")
    """
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["ring", "True", "ebpf", "True", "survived"]
