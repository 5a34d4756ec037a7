"""Arena maps: created from Python and mapped into the process, and an object's arena shared
by its programs and Python."""

from __future__ import annotations

import mmap
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import ClosedError, Ebpf, MapError
from bpf4py.maps.arena import Arena
from bpf4py.programs.syscall import Syscall
from tests.kernel_features import ARENA, requires


def mappings_of_bpf_maps() -> list[str]:
    with open("/proc/self/maps") as f:
        return [line for line in f if "bpf-map" in line]


@requires(ARENA)
def test_the_arena_is_mapped_once_into_this_process() -> None:
    before = mappings_of_bpf_maps()
    with Arena.create(8, name="shared") as arena:
        mem = arena.memory
        assert len(mem) == arena.size == 8 * mmap.PAGESIZE and not mem.readonly
        assert bytes(mem[:16]) == bytes(16)  # a page is zeroed when first touched
        mem[:5] = b"hello"
        mem[-3:] = b"end"
        assert bytes(mem[:5]) == b"hello" and bytes(arena.memory[-3:]) == b"end"
        [mapping] = [m for m in mappings_of_bpf_maps() if m not in before]
        start, end = (int(a, 16) for a in mapping.split()[0].split("-"))
        assert end - start == arena.size and "rw-s" in mapping  # shared, from the map's fd
        with Arena.from_id(arena.info().id) as again:
            with pytest.raises(MapError, match="maps once, at one address") as exc:
                again.memory  # the kernel placed the arena at the first mapping's address
            assert exc.value.errno_name in ("EBUSY", "EINVAL")
        del mem
    assert mappings_of_bpf_maps() == before  # close() unmapped it


@requires(ARENA)
def test_close_refuses_while_views_are_alive_and_bad_input() -> None:
    arena = Arena.create(1)
    part = arena.memory[:4]
    with pytest.raises(MapError, match="views of its memory are still in use"):
        arena.close()
    arena.memory[:4] = b"same"  # still mapped and usable
    assert bytes(part) == b"same"
    part.release()
    arena.close()
    arena.close()
    with pytest.raises(ClosedError, match=r"map '\(anonymous\)' is closed"):
        arena.memory
    for pages in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="positive number of pages"):
            Arena.create(pages)  # type: ignore[arg-type]


class Request:
    """The arena programs' context: an arena address and a value."""

    @staticmethod
    def pack(addr: int = 0, value: int = 0) -> bytes:
        return struct.pack("=QQ", addr, value)

    @staticmethod
    def unpack(ctx: bytes | None) -> tuple[int, int]:
        assert ctx is not None
        addr, value = struct.unpack("=QQ", ctx)
        return addr, value


@requires(ARENA)
def test_a_program_and_python_share_an_objects_arena(bpf_object: Callable[[str], Path]) -> None:
    before = mappings_of_bpf_maps()
    with Ebpf.load_file(bpf_object("arena")) as ebpf:
        arena = ebpf.map("ARENA", Arena)
        assert len(mappings_of_bpf_maps()) == len(before) + 1  # libbpf mapped it, pre-load
        alloc = ebpf.program("alloc_and_store", Syscall)
        load = ebpf.program("load", Syscall)
        alloc.load()
        load.load()
        mem, base = arena.memory, arena.address
        assert len(mem) == arena.size == 4 * mmap.PAGESIZE

        # The program allocates a page and writes into it; Python reads it.
        result = alloc.test_run(Request.pack(value=0x1122334455667788))
        assert result.return_value == 0
        page, _ = Request.unpack(result.ctx_out)
        offset = page - base
        assert 0 <= offset < arena.size and offset % mmap.PAGESIZE == 0
        assert int.from_bytes(mem[offset + 8:offset + 16], sys.byteorder) == 0x1122334455667788

        # Python writes; the program reads it at the same address.
        mem[offset + 64:offset + 72] = (0xCAFE).to_bytes(8, sys.byteorder)
        _, value = Request.unpack(load.test_run(Request.pack(page + 64)).ctx_out)
        assert value == 0xCAFE
        # A page Python touches first is allocated for both sides.
        last = arena.size - mmap.PAGESIZE
        mem[last:last + 8] = (7).to_bytes(8, sys.byteorder)
        assert Request.unpack(load.test_run(Request.pack(base + last)).ctx_out)[1] == 7
        kept = mem[offset:offset + 16]
        del mem
    # The object and the map are closed, the view taken from the arena keeps it mapped.
    assert arena.closed and len(mappings_of_bpf_maps()) == len(before) + 1
    assert int.from_bytes(kept[8:], sys.byteorder) == 0x1122334455667788
    kept.release()
    assert mappings_of_bpf_maps() == before  # the last view gone, libbpf unmapped it
