"""Arena maps: created from Python and mapped into the process (programs using them need
clang's __arena address space, which the clang here lacks)."""

from __future__ import annotations

import mmap

import pytest

from bpf4py import ClosedError, MapError
from bpf4py.maps.arena import Arena
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
    with pytest.raises(ClosedError):
        arena.memory
    for pages in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="positive number of pages"):
            Arena.create(pages)  # type: ignore[arg-type]
