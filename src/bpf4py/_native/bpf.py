"""Python functions over libbpf's ``bpf.h``: one per bpf(2) command bpf4py uses.

Callers pass and get plain Python values (ints, bytes, OwnedFd); every failure raises the
exception class the caller names, with ``what`` saying what was being done and on what.
"""

from __future__ import annotations

import errno as E
import os
from collections.abc import Iterator
from typing import Any, NoReturn

from bpf4py.errors import BpfError, LinkError, MapError, PinError, ProgramError

from . import fs
from ._lib import ffi, lib
from .check import ENOTSUPP, c_str, check, error
from .fd import OwnedFd

# --- objects in bpffs -------------------------------------------------------------------------


def obj_pin(fd: int, path: str, what: str) -> None:
    ret = lib.bpf_obj_pin(fd, c_str(path, f"pinning {what}"))
    if ret < 0:
        check(ret, PinError, f"pinning {what} at {path}", _pin_hint(path, -ret, pinning=True))


def obj_get(path: str, what: str) -> OwnedFd:
    fd = lib.bpf_obj_get(c_str(path, f"opening a pinned {what}"))
    if fd < 0:
        check(fd, PinError, f"opening pinned {what} at {path}", _pin_hint(path, -fd))
    return OwnedFd(fd, f"{what} pinned at {path}")


def _pin_hint(path: str, code: int, pinning: bool = False) -> str | None:
    """Why pinning at (or opening the pin at) ``path`` failed with ``code``, from what is
    there."""
    if pinning and code == E.EEXIST:
        return f"{path} already exists (unlink it, or pin elsewhere)"
    directory = os.path.dirname(os.path.abspath(path))
    exists = _exists(path)
    if fs.fs_type(path if exists else directory) != "bpf":
        return f"{path} is not on a bpffs: pins live on one (mount -t bpf bpf /sys/fs/bpf)"
    if not os.path.isdir(directory):
        return f"the directory {directory} does not exist (make it with os.makedirs)"
    if pinning or code not in (E.ENOENT, E.EACCES):
        return None
    if not exists:
        return f"nothing is pinned at {path}"
    if os.path.isdir(path):
        return f"{path} is a directory of the bpffs, not a pinned object"
    return f"{path} is a file of the bpffs but not a pinned map, program or link"


def _exists(path: str) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:  # there, but not to be looked at (bpffs' maps.debug on Linux 6.1: EPERM)
        pass
    return True


# --- programs ---------------------------------------------------------------------------------


def prog_attach(prog_fd: int, target_fd: int, attach_type: int, flags: int, what: str) -> None:
    check(lib.bpf_prog_attach(prog_fd, target_fd, attach_type, flags), ProgramError,
          f"attaching {what}")


def prog_detach(prog_fd: int, target_fd: int, attach_type: int, what: str) -> None:
    check(lib.bpf_prog_detach2(prog_fd, target_fd, attach_type), ProgramError,
          f"detaching {what}")


def link_create(prog_fd: int, target_fd: int, attach_type: int, flags: int, what: str) -> OwnedFd:
    opts = ffi.new("struct bpf_link_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_link_create_opts")
    opts.flags = flags
    fd = lib.bpf_link_create(prog_fd, target_fd, attach_type, opts)
    check(fd, LinkError, f"creating a BPF link for {what}")
    return OwnedFd(fd, f"link of {what}")


def link_detach(link_fd: int, what: str) -> None:
    check(lib.bpf_link_detach(link_fd), LinkError, f"detaching link of {what}")


def _in_buffer(data: object) -> tuple[Any, int]:
    """``(pointer, size in bytes)`` of an input buffer (None: NULL)."""
    if data is None:
        return ffi.NULL, 0
    buf = ffi.from_buffer(data)
    return buf, len(buf)


def prog_test_run(
    prog_fd: int,
    what: str,
    data_in: object,
    data_out_size: int,
    ctx_in: object,
    ctx_out_size: int,
    repeat: int,
    flags: int,
    cpu: int,
    batch_size: int,
) -> tuple[int, int, bytes | None, bytes | None]:
    """``(return value, duration in ns, data out, ctx out)`` of one BPF_PROG_TEST_RUN.
    ``data_in``/``ctx_in``: bytes or any buffer, or None."""
    data, data_size = (data_in, len(data_in)) if type(data_in) is bytes else _in_buffer(data_in)
    ctx, ctx_size = _in_buffer(ctx_in) if ctx_in is not None else (ffi.NULL, 0)
    if data_out_size or ctx_out_size:
        data_out = ffi.new("char[]", data_out_size) if data_out_size else ffi.NULL
        ctx_out = ffi.new("char[]", ctx_out_size) if ctx_out_size else ffi.NULL
        sizes = ffi.new("__u32[2]")
    else:
        data_out = ctx_out = sizes = ffi.NULL
    packed = lib.bpf4py_test_run(prog_fd, data, data_size, data_out, data_out_size, ctx,
                                 ctx_size, ctx_out, ctx_out_size, repeat, flags, cpu, batch_size,
                                 sizes)
    if not packed and (code := ffi.errno):
        _test_run_failed(what, code)
    return (
        packed & 0xFFFFFFFF,
        packed >> 32,
        ffi.buffer(data_out, sizes[0])[:] if data_out_size else None,
        ffi.buffer(ctx_out, sizes[1])[:] if ctx_out_size else None,
    )


#: ``test_run_packet(prog_fd, data_in, len(data_in))``: the common BPF_PROG_TEST_RUN
#: (a packet in, nothing out, no context) in one short native call, for the hot path of
#: ``test_run``.  Returns ``duration << 32 | retval``; 0 may be a failure:
#: :func:`check_test_run` then raises it.
test_run_packet = lib.bpf4py_test_run_packet


def check_test_run(what: str) -> None:
    """Raise the error of the test_run that just returned 0, if it failed."""
    if code := ffi.errno:
        _test_run_failed(what, code)


def _test_run_failed(what: str, code: int) -> NoReturn:
    hint = None
    if code in (ENOTSUPP, E.EOPNOTSUPP):
        hint = "this program type has no test_run in the running kernel"
    elif code == E.ENOSPC:
        hint = "data_out_size/ctx_out_size is smaller than what the program produced"
    elif code == E.EINVAL:
        hint = ("an input this program type refuses: a packet shorter than its minimum "
                "(14 bytes, an Ethernet header, for skb and XDP programs), a context of "
                "the wrong size, or an option it does not take")
    raise error(ProgramError, f"test_run of {what}", code, hint)


# What /proc/self/fd/N reads for each kind of BPF object (the kernel's anon inode names: a
# link made by BPF_LINK_CREATE is "bpf_link", one opened by id or from a pin "bpf-link").
_ANON_INODES = {"anon_inode:bpf-prog": "program", "anon_inode:bpf-map": "map",
                "anon_inode:bpf_link": "link", "anon_inode:bpf-link": "link"}


def check_kind(fd: int, kind: str, cls: type[BpfError], what: str) -> None:
    """Raise ``cls`` when ``fd`` is not a BPF ``kind`` ("program", "map" or "link").

    ``BPF_OBJ_GET_INFO_BY_FD`` answers for any BPF object with the struct of its own kind,
    so a map's info read as a program's would be garbage: the kind is checked first.
    """
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return  # a closed descriptor, or no /proc: the info call itself fails or decides
    found = _ANON_INODES.get(target)
    if found != kind:
        actual = f"a BPF {found}" if found else "not a BPF object"
        raise error(cls, f"{what} is {actual}, not a BPF {kind}", E.EINVAL, mix=False)


def prog_info(fd: int, what: str) -> dict[str, Any]:
    check_kind(fd, "program", ProgramError, what)
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    check(lib.bpf_prog_get_info_by_fd(fd, info, size), ProgramError, f"reading info of {what}")
    map_ids: list[int] = []
    if info.nr_map_ids:
        n = info.nr_map_ids
        ids = ffi.new("__u32[]", n)
        info2 = ffi.new("struct bpf_prog_info *")
        info2.nr_map_ids = n
        info2.map_ids = int(ffi.cast("uintptr_t", ids))
        size[0] = ffi.sizeof("struct bpf_prog_info")
        check(lib.bpf_prog_get_info_by_fd(fd, info2, size), ProgramError,
              f"reading map ids of {what}")
        map_ids = list(ids[0:min(n, info2.nr_map_ids)])
    return {
        "id": info.id,
        "program_type": info.type,
        "name": ffi.string(info.name).decode("utf-8", "replace"),
        "tag": bytes(ffi.buffer(info.tag, 8)),
        "jited_size": info.jited_prog_len,
        "xlated_size": info.xlated_prog_len,
        "load_time_ns": info.load_time,
        "created_by_uid": info.created_by_uid,
        "map_ids": tuple(map_ids),
        "btf_id": info.btf_id,
        "run_time_ns": info.run_time_ns,
        "run_count": info.run_cnt,
        "verified_instruction_count": info.verified_insns,
    }


def map_info(fd: int, what: str) -> dict[str, Any]:
    check_kind(fd, "map", MapError, what)
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    check(lib.bpf_map_get_info_by_fd(fd, info, size), MapError, f"reading info of {what}")
    return {
        "id": info.id,
        "map_type": info.type,
        "name": ffi.string(info.name).decode("utf-8", "replace"),
        "key_size": info.key_size,
        "value_size": info.value_size,
        "max_entries": info.max_entries,
        "flags": info.map_flags,
        "btf_id": info.btf_id,
        "btf_key_type_id": info.btf_key_type_id,
        "btf_value_type_id": info.btf_value_type_id,
    }


def link_info(fd: int, what: str) -> dict[str, Any]:
    check_kind(fd, "link", LinkError, what)
    info = ffi.new("struct bpf_link_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_link_info"))
    check(lib.bpf_link_get_info_by_fd(fd, info, size), LinkError, f"reading info of {what}")
    return {"id": info.id, "link_type": info.type, "program_id": info.prog_id}


_NEXT_ID = {
    "program": (lib.bpf_prog_get_next_id, lib.bpf_prog_get_fd_by_id, ProgramError),
    "map": (lib.bpf_map_get_next_id, lib.bpf_map_get_fd_by_id, MapError),
    "link": (lib.bpf_link_get_next_id, lib.bpf_link_get_fd_by_id, LinkError),
}


def iter_ids(kind: str) -> Iterator[int]:
    """Ids of every loaded program / map / link (``kind``), in increasing order."""
    next_id, _, cls = _NEXT_ID[kind]
    cur = ffi.new("__u32 *", 0)
    while True:
        ret = next_id(cur[0], cur)
        if ret == -E.ENOENT:
            return
        check(ret, cls, f"listing loaded {kind}s")
        yield int(cur[0])


def fd_by_id(kind: str, ident: int) -> OwnedFd:
    _, get_fd, cls = _NEXT_ID[kind]
    fd = get_fd(ident)
    check(fd, cls, f"opening {kind} id {ident}")
    return OwnedFd(fd, f"{kind} id {ident}")


def enable_stats(what: str) -> OwnedFd:
    fd = lib.bpf_enable_stats(lib.BPF_STATS_RUN_TIME)
    check(fd, BpfError, what)
    return OwnedFd(fd, "BPF run-time statistics")


# --- maps -------------------------------------------------------------------------------------

_OBJ_NAME_MAX = 15  # BPF_OBJ_NAME_LEN less the NUL
_CREATE_EINVAL_HINT = (
    "the kernel refused the parameters: a key size, value size or max_entries this map type "
    "does not take (0 where it needs one), flags it does not take, or a name with characters "
    "other than letters, digits, '_' and '.'")
_READ_ONLY_HINT = ("user space may not write this map: it is frozen (freeze()) or was created "
                   "with BPF_F_RDONLY")


def map_create(
    map_type: int,
    name: str,
    key_size: int,
    value_size: int,
    max_entries: int,
    flags: int = 0,
    inner_map_fd: int = 0,
    map_extra: int = 0,
) -> OwnedFd:
    raw_name = c_str(name, "creating a map")
    for field, number in (("key size", key_size), ("value size", value_size),
                          ("max_entries", max_entries), ("flags", flags)):
        if not 0 <= number <= 0xFFFFFFFF:
            raise ValueError(f"creating map {name!r}: {field} must be 0 .. 2**32-1, got "
                             f"{number}")
    if len(raw_name) > _OBJ_NAME_MAX:
        raise ValueError(f"creating map {name!r}: a map name is at most {_OBJ_NAME_MAX} bytes "
                         "(BPF_OBJ_NAME_LEN)")
    opts = ffi.new("struct bpf_map_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_create_opts")
    opts.map_flags, opts.inner_map_fd, opts.map_extra = flags, inner_map_fd, map_extra
    fd = lib.bpf_map_create(map_type, raw_name or ffi.NULL, key_size, value_size,
                            max_entries, opts)
    what = f"map {name or '(anonymous)'!r}"  # as the Map object names itself
    check(fd, MapError, f"creating {what}", _CREATE_EINVAL_HINT if fd == -E.EINVAL else None)
    return OwnedFd(fd, what)


def map_lookup(fd: int, key: bytes, value_size: int, flags: int, what: str) -> bytes | None:
    """The value for ``key`` or None when the key is absent."""
    value = bytearray(value_size)
    ret = lib.bpf_map_lookup_elem_flags(fd, key, ffi.from_buffer(value), flags)
    if ret == 0:
        return bytes(value)
    if ret == -E.ENOENT:
        return None
    raise error(MapError, f"looking up a key in {what}", -ret)


def map_lookup_and_delete(fd: int, key: bytes | None, value_size: int, what: str) -> bytes | None:
    value = bytearray(value_size)
    ret = lib.bpf_map_lookup_and_delete_elem(fd, key if key is not None else ffi.NULL,
                                             ffi.from_buffer(value))
    if ret == 0:
        return bytes(value)
    if ret == -E.ENOENT:
        return None
    raise error(MapError, f"popping from {what}", -ret)


def map_update(fd: int, key: bytes | None, value: bytes, flags: int, what: str) -> None:
    ret = lib.bpf_map_update_elem(fd, key if key is not None else ffi.NULL, value, flags)
    if ret < 0:
        code = -ret
        hint = None
        if code == E.E2BIG:
            hint = "the map is full (max_entries reached) or the index is out of range"
        elif code == E.EEXIST:
            hint = "the key exists and flags asked for BPF_NOEXIST"
        elif code == E.ENOENT:
            hint = "the key does not exist and flags asked for BPF_EXIST"
        elif code == E.EPERM:
            hint = _READ_ONLY_HINT
        raise error(MapError, f"updating {what}", code, hint)


def map_delete(fd: int, key: bytes, what: str) -> bool:
    """Delete ``key``; False when it was not there."""
    ret = lib.bpf_map_delete_elem(fd, key)
    if ret == 0:
        return True
    if ret == -E.ENOENT:
        return False
    raise error(MapError, f"deleting a key from {what}", -ret,
                _READ_ONLY_HINT if ret == -E.EPERM else None)


def map_next_key(fd: int, key: bytes | None, key_size: int, what: str) -> bytes | None:
    nxt = bytearray(key_size)
    ret = lib.bpf_map_get_next_key(fd, key if key is not None else ffi.NULL,
                                   ffi.from_buffer(nxt))
    if ret == 0:
        return bytes(nxt)
    if ret == -E.ENOENT:
        return None
    raise error(MapError, f"iterating the keys of {what}", -ret)


def map_freeze(fd: int, what: str) -> None:
    check(lib.bpf_map_freeze(fd), MapError, f"freezing {what}")


def num_possible_cpus() -> int:
    return check(lib.libbpf_num_possible_cpus(), BpfError, "counting possible CPUs")


def type_name(kind: str, value: int) -> str | None:
    """libbpf's name of a program/map/attach/link type value, or None when unknown."""
    fn = {
        "program": lib.libbpf_bpf_prog_type_str,
        "map": lib.libbpf_bpf_map_type_str,
        "attach": lib.libbpf_bpf_attach_type_str,
        "link": lib.libbpf_bpf_link_type_str,
    }[kind]
    ptr = fn(value)
    return None if ptr == ffi.NULL else str(ffi.string(ptr).decode())


def probe_program_type(prog_type: int) -> bool:
    ret = lib.libbpf_probe_bpf_prog_type(prog_type, ffi.NULL)
    return bool(check(ret, BpfError, "probing a program type"))


def probe_map_type(map_type: int) -> bool:
    ret = lib.libbpf_probe_bpf_map_type(map_type, ffi.NULL)
    return bool(check(ret, BpfError, "probing a map type"))


# --- batch operations (Linux 5.6) and maps without keys ---------------------------------------


def map_lookup_batch(
    fd: int,
    position: bytes | None,
    keys: bytearray,
    values: bytearray,
    count: int,
    delete: bool,
    what: str,
) -> tuple[int, bytes | None]:
    """Read (with ``delete``: read and delete) up to ``count`` entries into ``keys`` and
    ``values``, starting at ``position`` (None: the beginning of the map).

    Returns the number of entries read and the position of the next call, None once the map
    has no more.  ENOSPC (``count`` smaller than a hash bucket, nothing read) and ENOTSUPP (no
    batch operations for this map type) raise MapError like every other failure.
    """
    # The kernel's batch position is a key, or a u32 bucket index for hash maps.
    out_batch = bytearray(max(len(keys) // count, 8))
    n = ffi.new("__u32 *", count)
    call = lib.bpf_map_lookup_and_delete_batch if delete else lib.bpf_map_lookup_batch
    ret = call(fd, position if position is not None else ffi.NULL, ffi.from_buffer(out_batch),
               ffi.from_buffer(keys), ffi.from_buffer(values), n, ffi.NULL)
    if ret == 0:
        return int(n[0]), bytes(out_batch)
    if ret == -E.ENOENT:
        return int(n[0]), None
    doing = "reading and deleting" if delete else "reading"
    hint = "a hash bucket holds more entries than the batch" if -ret == E.ENOSPC else None
    raise error(MapError, f"{doing} {what} in batches", -ret, hint)


def map_update_batch(fd: int, keys: bytes, values: bytes, count: int, what: str) -> None:
    """Store ``count`` entries (``keys`` and ``values`` back to back) with one syscall."""
    n = ffi.new("__u32 *", count)
    ret = lib.bpf_map_update_batch(fd, keys, values, n, ffi.NULL)
    if ret < 0:
        code = -ret
        hint = {E.E2BIG: "the map is full (max_entries reached)",
                E.EPERM: _READ_ONLY_HINT}.get(code)
        # The kernel writes the count back once it has gone through entries; failing before
        # the first one (a frozen or read-only map) it leaves the count as given.
        stored = n[0] if n[0] < count else 0
        raise error(MapError, f"updating {what} in a batch ({stored} of {count} entries "
                    "stored)", code, hint)


def map_lookup_keyless(fd: int, value: bytearray, flags: int, doing: str, what: str) -> bool:
    """A lookup with no key (queue/stack peek, bloom filter query): the kernel fills ``value``
    (queue, stack) or reads it (bloom filter).  False on ENOENT (empty, or not in the filter)."""
    ret = lib.bpf_map_lookup_elem_flags(fd, ffi.NULL, ffi.from_buffer(value), flags)
    if ret == 0:
        return True
    if ret == -E.ENOENT:
        return False
    raise error(MapError, f"{doing} {what}", -ret)
