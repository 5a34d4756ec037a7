"""A libbpf ``struct bpf_object``: opened from ELF bytes, prepared, its programs loaded one by one.

How programs reach the kernel (the aya model on libbpf): the object is opened and then
*prepared* (``bpf_object__prepare``, libbpf >= 1.6) with every program marked for loading, so
libbpf creates the maps, applies CO-RE and data relocations to every program, and finalises
each program's instructions and BTF func/line info -- but loads no program.  Each program then
reaches the kernel only when its own ``load()`` calls :meth:`BpfObject.load_program`, which
passes those prepared instructions, the object's BTF and the func/line info to
``bpf_prog_load``.  So maps exist once per object, programs never loaded never reach the
kernel, global (non-inlined) functions verify (they need the func info), and a program can be
loaded after another program of the object is already attached.
"""

from __future__ import annotations

import errno as E
import mmap
import os
from typing import Any, NamedTuple

from bpf4py.errors import MapError, ObjectError, ProgramError

from . import btf_types, log
from ._lib import ffi, lib, memory_of
from .check import c_str, check, error
from .fd import OwnedFd


class ProgramSpec(NamedTuple):
    """A program as the ELF object declares it."""

    name: str
    section: str
    prog_type: int
    expected_attach_type: int
    flags: int


class MapSpec(NamedTuple):
    """A map as the ELF object declares it (after loader overrides, once prepared)."""

    name: str
    map_type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    internal: bool
    btf_key_type_id: int
    btf_value_type_id: int


class GlobalVar(NamedTuple):
    """A global variable in a data section (``.rodata``, ``.data``, ``.bss``, ...)."""

    name: str
    section: str
    offset: int
    size: int


def _str(ptr: Any) -> str:
    return "" if ptr == ffi.NULL else str(ffi.string(ptr).decode("utf-8", "replace"))


def _map_display_name(raw: str, internal: bool) -> str:
    # libbpf names internal maps "<object prefix>.<section>"; users know them by section.
    if internal and "." in raw:
        return "." + raw.split(".", 1)[1]
    return raw


# Program types whose load names a kernel function or hook by BTF id (fentry/fexit/fmod_ret,
# tp_btf, iter: TRACING; lsm: LSM): libbpf resolves that id only inside bpf_object__load.
_BTF_ATTACHED = {26, 29}  # BPF_PROG_TYPE_TRACING, BPF_PROG_TYPE_LSM

_LOG_SIZE = 4 << 20  # the verifier log buffer of a load that failed or asked for a log

_MAP_TYPE_ARENA = 33  # BPF_MAP_TYPE_ARENA


def _vmlinux_attach_btf_id(name: str, prog: Any) -> int:
    """The vmlinux BTF id of the target named by the section (``fentry/do_unlinkat``)."""
    if lib.bpf_program__type(prog) not in _BTF_ATTACHED:
        return 0
    section = _str(lib.bpf_program__section_name(prog))
    target = section.split("/", 1)[1] if "/" in section else ""
    if not target:
        raise ProgramError(f"loading program {name!r}: section {section!r} names no target "
                           "(e.g. SEC(\"fentry/do_unlinkat\"))")
    attach_type = lib.bpf_program__expected_attach_type(prog)
    return check(lib.libbpf_find_vmlinux_btf_id(target.encode(), attach_type), ProgramError,
                 f"loading program {name!r}: finding {target!r} in the kernel's BTF",
                 "the function or hook is not in /sys/kernel/btf/vmlinux (a typo, or a "
                 "module's function)")


class BpfObject:
    """Owns one ``struct bpf_object``; closed by :meth:`close` (GC only as a safety net)."""

    def __init__(
        self,
        data: bytes,
        name: str,
        *,
        pin_root_path: str | None = None,
        btf_custom_path: str | None = None,
    ) -> None:
        self.name = name
        self._data = bytes(data)  # libbpf reads the buffer until prepare finishes
        buf = ffi.from_buffer(self._data)
        opts = ffi.new("struct bpf_object_open_opts *")
        opts.sz = ffi.sizeof("struct bpf_object_open_opts")
        keep = [ffi.new("char[]", c_str(name, "opening an eBPF object"))]
        opts.object_name = keep[0]
        if pin_root_path:
            keep.append(ffi.new("char[]", c_str(pin_root_path, "the map pin directory")))
            opts.pin_root_path = keep[-1]
        if btf_custom_path:
            keep.append(ffi.new("char[]", c_str(btf_custom_path, "the target BTF")))
            opts.btf_custom_path = keep[-1]
        with log.capture() as warnings:
            ptr = lib.bpf_object__open_mem(buf, len(self._data), opts)
            code = ffi.errno
        if ptr == ffi.NULL:
            raise error(ObjectError, f"opening eBPF object {name!r}", code or E.EINVAL,
                        "; ".join(warnings[-3:]) or None)
        self._ptr: Any = ffi.gc(ptr, lib.bpf_object__close)
        self._prepared = False
        self._lent_memory = False
        self._progs: dict[str, Any] = {}
        p = lib.bpf_object__next_program(ptr, ffi.NULL)
        while p != ffi.NULL:
            self._progs[_str(lib.bpf_program__name(p))] = p
            p = lib.bpf_object__next_program(ptr, p)
        self._maps: dict[str, Any] = {}
        m = lib.bpf_object__next_map(ptr, ffi.NULL)
        while m != ffi.NULL:
            internal = bool(lib.bpf_map__is_internal(m))
            self._maps[_map_display_name(_str(lib.bpf_map__name(m)), internal)] = m
            m = lib.bpf_object__next_map(ptr, m)

    # --- reading the object ---------------------------------------------------------------

    def _live(self) -> Any:
        if self._ptr is None:
            from bpf4py.errors import ClosedError

            raise ClosedError(f"eBPF object {self.name!r} is closed")
        return self._ptr

    def programs(self) -> list[ProgramSpec]:
        self._live()
        return [
            ProgramSpec(
                name=name,
                section=_str(lib.bpf_program__section_name(p)),
                prog_type=lib.bpf_program__type(p),
                expected_attach_type=lib.bpf_program__expected_attach_type(p),
                flags=lib.bpf_program__flags(p),
            )
            for name, p in self._progs.items()
        ]

    def map_names(self) -> list[str]:
        self._live()
        return list(self._maps)

    def map_spec(self, name: str) -> MapSpec:
        m = self._map(name)
        return MapSpec(
            name=name,
            map_type=lib.bpf_map__type(m),
            key_size=lib.bpf_map__key_size(m),
            value_size=lib.bpf_map__value_size(m),
            max_entries=lib.bpf_map__max_entries(m),
            flags=lib.bpf_map__map_flags(m),
            internal=bool(lib.bpf_map__is_internal(m)),
            btf_key_type_id=lib.bpf_map__btf_key_type_id(m),
            btf_value_type_id=lib.bpf_map__btf_value_type_id(m),
        )

    def _map(self, name: str) -> Any:
        self._live()
        try:
            return self._maps[name]
        except KeyError:
            known = ", ".join(sorted(self._maps)) or "none"
            raise MapError(f"object {self.name!r} has no map {name!r} (maps: {known})") from None

    def btf_data(self) -> bytes | None:
        """The object's BTF serialized (a copy, for bpf4py.btf), or None without BTF."""
        btf = lib.bpf_object__btf(self._live())
        return None if btf == ffi.NULL else btf_types.serialize(btf, f"the BTF of {self.name!r}")

    def btf_view(self) -> btf_types.BtfHandle | None:
        """The object's own BTF, borrowed (no copy, no parse): valid only while the object is
        open, so close it before the object; None without BTF."""
        btf = lib.bpf_object__btf(self._live())
        if btf == ffi.NULL:
            return None
        return btf_types.BtfHandle(btf, f"the BTF of {self.name!r}", owned=False)

    def global_vars(self) -> dict[str, GlobalVar]:
        """Global variables found in the object's BTF data sections, by name."""
        btf = lib.bpf_object__btf(self._live())
        found: dict[str, GlobalVar] = {}
        if btf == ffi.NULL:
            return found
        secinfo_t = ffi.typeof("struct btf_var_secinfo *")
        for type_id in range(1, lib.btf__type_cnt(btf)):
            t = lib.btf__type_by_id(btf, type_id)
            if (t.info >> 24) & 0x1F != lib.BTF_KIND_DATASEC:
                continue
            section = _str(lib.btf__name_by_offset(btf, t.name_off))
            secinfo = ffi.cast(secinfo_t, t + 1)
            for i in range(t.info & 0xFFFF):
                var = lib.btf__type_by_id(btf, secinfo[i].type)
                if (var.info >> 24) & 0x1F != lib.BTF_KIND_VAR:
                    continue
                name = _str(lib.btf__name_by_offset(btf, var.name_off))
                found[name] = GlobalVar(name, section, secinfo[i].offset, secinfo[i].size)
        return found

    # --- before prepare ---------------------------------------------------------------------

    def _before_prepare(self, action: str) -> None:
        if self._prepared:
            raise ObjectError(f"{action}: object {self.name!r} is already loaded")

    def set_max_entries(self, map_name: str, max_entries: int) -> None:
        self._before_prepare(f"setting max_entries of map {map_name!r}")
        check(lib.bpf_map__set_max_entries(self._map(map_name), max_entries), MapError,
              f"setting max_entries of map {map_name!r}")

    def set_pin_path(self, map_name: str, path: str) -> None:
        self._before_prepare(f"setting the pin path of map {map_name!r}")
        raw = c_str(path, f"pin path of map {map_name!r}")
        check(lib.bpf_map__set_pin_path(self._map(map_name), raw), MapError,
              f"setting the pin path of map {map_name!r}")

    def write_initial(self, section: str, offset: int, data: bytes) -> None:
        """Overwrite bytes of a data section's initial value (before prepare)."""
        self._before_prepare(f"setting a global in {section}")
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(self._map(section), size)
        if ptr == ffi.NULL or offset + len(data) > size[0]:
            raise ObjectError(f"section {section} of {self.name!r} cannot hold {len(data)} "
                              f"bytes at offset {offset}")
        ffi.memmove(ffi.cast("char *", ptr) + offset, data, len(data))

    def prepare(self) -> None:
        """Create the maps and relocate every program; loads no program."""
        ptr = self._live()
        self._before_prepare("preparing")
        for p in self._progs.values():
            lib.bpf_program__set_autoload(p, True)
        with log.capture() as warnings:
            ret = lib.bpf_object__prepare(ptr)
        if ret < 0:
            raise error(ObjectError, f"loading eBPF object {self.name!r} (creating maps, "
                        "relocating programs)", -ret, "; ".join(warnings[-3:]) or None)
        self._prepared = True

    # --- after prepare ----------------------------------------------------------------------

    def map_fd(self, name: str) -> OwnedFd:
        """A new descriptor (dup) of a created map, owned by the caller."""
        fd = lib.bpf_map__fd(self._map(name))
        check(fd, MapError, f"map {name!r} of {self.name!r} was not created")
        return OwnedFd(os.dup(fd), f"map {name!r}")  # the original stays libbpf's

    def map_pin_path(self, name: str) -> str | None:
        path = lib.bpf_map__pin_path(self._map(name))
        return _str(path) or None

    def pin_paths(self) -> dict[str, str]:
        """Every map that libbpf will pin (or reuse from a pin) at prepare, with its path."""
        self._live()
        found = {}
        for name, m in self._maps.items():
            path = lib.bpf_map__pin_path(m)
            if path != ffi.NULL:
                found[name] = _str(path)
        return found

    def arena_memory(self, name: str) -> memoryview | None:
        """The pages of arena map ``name`` as libbpf mapped them when it created the maps
        (the kernel allows an arena one address, so this is its only mapping), or None for a
        map libbpf did not map.  The view keeps libbpf's object, and so the mapping, alive
        until the last view of it is gone, even past :meth:`close`."""
        m = self._map(name)
        if not self._prepared or lib.bpf_map__type(m) != _MAP_TYPE_ARENA:
            return None
        ptr = lib.bpf_map__initial_value(m, ffi.new("size_t *"))
        if ptr == ffi.NULL:
            return None
        self._lent_memory = True  # libbpf unmaps the arena when its object is freed
        return memory_of(ptr, lib.bpf_map__max_entries(m) * mmap.PAGESIZE, self._ptr)

    def load_program(self, name: str, license: str, log_level: int) -> OwnedFd:
        """Load one prepared program into the kernel and return its descriptor.

        On rejection raise ProgramError with the whole verifier log (a load without a log is
        repeated with one, as libbpf does, so the error can show why).
        """
        ptr = self._live()
        if not self._prepared:
            raise ProgramError(f"loading program {name!r}: object {self.name!r} is not prepared")
        p = self._progs[name]
        lic = license.encode()
        attach_btf_id = _vmlinux_attach_btf_id(name, p)
        log_size = _LOG_SIZE if log_level else 0
        log_buf = ffi.new("char[]", log_size) if log_size else ffi.NULL
        fd = lib.bpf4py_prog_load(ptr, p, lic, attach_btf_id, log_level, log_buf, log_size)
        if fd >= 0:
            return OwnedFd(fd, f"program {name!r}")
        if not log_level:
            log_buf = ffi.new("char[]", _LOG_SIZE)
            retry = lib.bpf4py_prog_load(ptr, p, lic, attach_btf_id, 1, log_buf, _LOG_SIZE)
            if retry >= 0:  # pragma: no cover - the kernel changed its mind
                return OwnedFd(retry, f"program {name!r}")
        log = ffi.string(log_buf).decode("utf-8", "replace") or None
        hint, mix = None, True
        if -fd == E.EACCES and log:
            # EACCES with a log is the verifier saying no, not a missing privilege.
            hint, mix = "the verifier rejected the program; see the log below", False
        elif -fd == E.EINVAL and not log:
            hint = "the kernel may not support this program type or attach type"
        raise error(ProgramError, f"loading program {name!r}", -fd, hint, mix=mix,
                    verifier_log=log)

    def close(self) -> None:
        """Free libbpf's object: its own map and BTF descriptors close (dups handed out stay)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None and not self._lent_memory:
            ffi.release(ptr)  # else freed with the last view of an arena (arena_memory)
