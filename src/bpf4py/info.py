"""Metadata of loaded programs, maps and links, and iteration over all of them.

Example::

    from bpf4py.info import loaded_programs
    for info in loaded_programs():
        print(info.id, info.name, info.program_type.name)
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from typing import NamedTuple

from ._native import bpf as _bpf
from ._native.fd import OwnedFd
from .errors import BpfError
from .types import MapType, ProgramType


def _enum(cls: type[ProgramType] | type[MapType], value: int) -> ProgramType | MapType | int:
    try:
        return cls(value)
    except ValueError:
        return value


class ProgramInfo(NamedTuple):
    """What the kernel reports of a loaded program (``BPF_OBJ_GET_INFO_BY_FD``, Linux 4.13).

    ``run_time_ns``/``run_count`` are non-zero only while statistics are enabled
    (:func:`enable_stats` or ``sysctl kernel.bpf_stats_enabled=1``).
    """

    id: int
    name: str
    program_type: ProgramType | int
    tag: bytes
    jited_size: int
    xlated_size: int
    load_time_ns: int
    created_by_uid: int
    map_ids: tuple[int, ...]
    btf_id: int
    run_time_ns: int
    run_count: int
    verified_instruction_count: int

    @property
    def loaded_at(self) -> float:
        """When the program was loaded, as a UNIX timestamp."""
        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return boot + self.load_time_ns / 1e9

    @classmethod
    def from_fd(cls, fd: int, what: str) -> ProgramInfo:
        raw = _bpf.prog_info(fd, what)
        raw["program_type"] = _enum(ProgramType, raw["program_type"])
        return cls(**raw)


class MapInfo(NamedTuple):
    """What the kernel reports of a map (Linux 4.13)."""

    id: int
    name: str
    map_type: MapType | int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int

    @classmethod
    def from_fd(cls, fd: int, what: str) -> MapInfo:
        raw = _bpf.map_info(fd, what)
        raw["map_type"] = _enum(MapType, raw["map_type"])
        return cls(**raw)


class LinkInfo(NamedTuple):
    """What the kernel reports of a BPF link (Linux 5.8)."""

    id: int
    link_type: int
    program_id: int

    @property
    def link_type_name(self) -> str | None:
        return _bpf.type_name("link", self.link_type)

    @classmethod
    def from_fd(cls, fd: int, what: str) -> LinkInfo:
        return cls(**_bpf.link_info(fd, what))


def _infos(kind: str) -> Iterator[OwnedFd]:
    for ident in _bpf.iter_ids(kind):
        try:
            fd = _bpf.fd_by_id(kind, ident)
        except BpfError as exc:
            # ENOENT: gone between listing and opening; EAGAIN: a link being torn down.
            if exc.errno in (errno.ENOENT, errno.EAGAIN):
                continue
            raise
        yield fd


def loaded_programs() -> Iterator[ProgramInfo]:
    """Every program loaded in the kernel (needs CAP_SYS_ADMIN)."""
    for fd in _infos("program"):
        with fd:
            yield ProgramInfo.from_fd(fd.fd, fd.what)


def loaded_maps() -> Iterator[MapInfo]:
    """Every map in the kernel (needs CAP_SYS_ADMIN)."""
    for fd in _infos("map"):
        with fd:
            yield MapInfo.from_fd(fd.fd, fd.what)


def loaded_links() -> Iterator[LinkInfo]:
    """Every BPF link in the kernel (Linux 5.8, needs CAP_SYS_ADMIN)."""
    for fd in _infos("link"):
        with fd:
            yield LinkInfo.from_fd(fd.fd, fd.what)


def enable_stats() -> OwnedFd:
    """Turn on run-time statistics (``run_time_ns``, ``run_count``) until the result is closed.

    Linux 5.8.  Example::

        with enable_stats():
            ...  # drive traffic
            print(prog.info().run_count)
    """
    return _bpf.enable_stats("enabling BPF run-time statistics")
