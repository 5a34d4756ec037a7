"""Ebpf (a loaded eBPF object) and EbpfLoader (its builder).

``Ebpf.load_file(path)`` opens the ELF object and creates its maps; programs stay out of the
kernel until each one's ``load()`` (or :meth:`Ebpf.load_all`)::

    from bpf4py import Ebpf

    with Ebpf.load_file("counter.bpf.o") as ebpf:
        prog = ebpf.program("count_packets")     # a SocketFilter, from its ELF section
        prog.load()
        counts = ebpf.map("COUNTS")              # a HashMap
"""

from __future__ import annotations

import ctypes
import errno
import operator
import os
import threading
from collections.abc import Mapping
from enum import IntFlag
from types import MappingProxyType
from typing import Any, TypeVar, cast, overload

from . import features, fs
from . import maps as map_families
from . import programs as program_families
from ._closing import Closing
from ._native import elf
from ._native.object import BpfObject, GlobalVar, MapSpec, ProgramSpec
from .errors import ClosedError, MapError, ObjectError, PinError, ProgramError
from .maps.base import MAP_CLASSES, Map
from .maps.btf_pending import BtfSource, defer_btf
from .programs.base import PROGRAM_CLASSES, Program

P = TypeVar("P", bound=Program)
M = TypeVar("M", bound=Map)


class VerifierLogLevel(IntFlag):
    """How much the verifier logs while loading (``BPF_LOG_*``)."""

    DEFAULT = 0
    DEBUG = 1
    VERBOSE = 2
    STATS = 4


class Ebpf(Closing):
    """A loaded eBPF object: its programs (not yet in the kernel) and its maps (created).

    Close it (or use ``with``) to unload every program, detach their tracked links, and close
    every map not taken with :meth:`take_map`.
    """

    def __init__(self, obj: BpfObject, programs: dict[str, Program], map_names: list[str]):
        self._obj: BpfObject | None = obj
        self._programs = programs
        # Every map exists in the kernel; its Python object is made at the first access (most
        # programs touch a few of an object's maps, and making one costs a descriptor and
        # codecs).  A map taken with take_map() leaves _names.
        self._names = dict.fromkeys(map_names)
        self._maps: dict[str, Map] = {}
        self._btf: BtfSource | None = None
        self._lock = threading.Lock()

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def load_file(cls, path: str | os.PathLike[str]) -> Ebpf:
        """Open the ELF object at ``path`` and create its maps (default loader settings)."""
        return EbpfLoader().load_file(path)

    @classmethod
    def load(cls, data: bytes, name: str = "bpf_object") -> Ebpf:
        """Like :meth:`load_file`, from the bytes of an ELF object."""
        return EbpfLoader().load(data, name)

    # --- access ---------------------------------------------------------------------------

    def _check_open(self) -> BpfObject:
        if self._obj is None:
            raise ClosedError("this Ebpf object is closed")
        return self._obj

    @property
    def programs(self) -> Mapping[str, Program]:
        """Every program of the object by name (read-only)."""
        self._check_open()
        return MappingProxyType(self._programs)

    @property
    def maps(self) -> Mapping[str, Map]:
        """Every map still owned by this object, by name (read-only)."""
        self._check_open()
        for name in self._names:
            self.map(name)
        return MappingProxyType(self._maps)

    @overload
    def program(self, name: str) -> Program: ...
    @overload
    def program(self, name: str, kind: type[P]) -> P: ...

    def program(self, name: str, kind: type[Program] | None = None) -> Program:
        """The program ``name``, typed from its ELF section (``SocketFilter``, ...).

        With ``kind``, also check it is of that class (like aya's ``try_into``).
        """
        self._check_open()
        try:
            prog = self._programs[name]
        except KeyError:
            known = ", ".join(sorted(self._programs)) or "none"
            raise ProgramError(f"no program {name!r} in this object (programs: {known})") from None
        if kind is not None:
            if not _is_class_of(kind, Program):
                raise TypeError(f"program {name!r}: kind must be a Program class such as "
                                f"SocketFilter, got {kind!r}")
            if not isinstance(prog, kind):
                raise ProgramError(f"program {name!r} is a {type(prog).__name__} "
                                   f"(section {prog.section!r}), not a {kind.__name__}")
        return prog

    @overload
    def map(self, name: str) -> Map: ...
    @overload
    def map(self, name: str, kind: type[M]) -> M: ...

    def map(self, name: str, kind: type[Map] | None = None) -> Map:
        """The map ``name``, typed from its map type (``HashMap``, ``Array``, ...)."""
        obj = self._check_open()
        m = self._maps.get(name)
        if m is None:
            if name not in self._names:
                known = ", ".join(sorted(self._names)) or "none"
                raise MapError(f"no map {name!r} in this object (maps: {known}; a map taken "
                               "with take_map() is no longer here)")
            with self._lock:
                m = self._maps.get(name)
                if m is None:
                    m = _make_map(obj.map_spec(name), obj, self._btf_source(obj))
                    self._maps[name] = m
        if kind is not None:
            if not _is_class_of(kind, Map):
                raise TypeError(f"map {name!r}: kind must be a Map class such as HashMap, got "
                                f"{kind!r}")
            if not isinstance(m, kind):
                raise MapError(f"map {name!r} is a {type(m).__name__}, not a {kind.__name__}")
        return m

    def take_map(self, name: str) -> Map:
        """Remove the map from this object and hand it to the caller, who closes it."""
        m = self.map(name)
        del self._maps[name], self._names[name]
        return m

    def _btf_source(self, obj: BpfObject) -> BtfSource | None:
        """The object's BTF for its maps' types: copied at the first map made, so it outlives
        the object; None without BTF."""
        if self._btf is None:
            data = obj.btf_data()
            if data is not None:
                self._btf = BtfSource.from_bytes(data, f"the BTF of {obj.name!r}")
        return self._btf

    def load_all(self) -> None:
        """Load every program not loaded yet, in one call."""
        self._check_open()
        for prog in self._programs.values():
            if not prog.loaded:
                prog.load()

    # --- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Unload every program (detaching tracked links) and close the maps it owns."""
        obj, self._obj = self._obj, None
        if obj is None:
            return
        try:
            for prog in self._programs.values():
                prog._orphan()
        finally:
            for m in self._maps.values():
                m.close()
            obj.close()


    def __repr__(self) -> str:
        if self._obj is None:
            return "<Ebpf closed>"
        return (f"<Ebpf {self._obj.name!r} programs={sorted(self._programs)} "
                f"maps={sorted(self._names)}>")


class EbpfLoader:
    """Builder for :class:`Ebpf` with load-time settings.  Every setter returns the loader::

        ebpf = (EbpfLoader()
                .override_global("TARGET_PORT", 8080)
                .map_max_entries("FLOWS", 65536)
                .map_pin_path("FLOWS", "/sys/fs/bpf/flows")
                .load_file("flows.bpf.o"))
    """

    def __init__(self) -> None:
        self._globals: dict[str, object] = {}
        self._pin_paths: dict[str, str] = {}
        self._max_entries: dict[str, int] = {}
        self._pin_dir: str | None = None
        self._btf: str | None = None
        self._log_level = VerifierLogLevel.DEFAULT

    def override_global(self, name: str, value: object) -> EbpfLoader:
        """Set global variable ``name`` (in .rodata, .data or .bss) before load.

        ``value`` is an int, bytes of the variable's size, or a ctypes object.  ``const
        volatile`` globals in .rodata are seen as constants by the verifier.
        """
        if not isinstance(name, str):
            raise TypeError(f"override_global: the name must be a str, got {name!r}")
        self._globals[name] = value
        return self

    def map_pin_path(self, name: str, path: str | os.PathLike[str]) -> EbpfLoader:
        """Pin map ``name`` at ``path``, reusing the map already pinned there if compatible."""
        self._pin_paths[name] = os.fspath(path)
        return self

    def default_map_pin_directory(self, directory: str | os.PathLike[str]) -> EbpfLoader:
        """Where maps declared with ``LIBBPF_PIN_BY_NAME`` are pinned (default
        ``/sys/fs/bpf``); bpffs is mounted there when it is not."""
        self._pin_dir = os.fspath(directory)
        return self

    def map_max_entries(self, name: str, max_entries: int) -> EbpfLoader:
        """Override ``max_entries`` of map ``name``."""
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError(f"max_entries of map {name!r} must be an int, got {max_entries!r}")
        if not 1 <= max_entries <= 0xFFFFFFFF:
            raise ValueError(f"max_entries of map {name!r} must be 1 .. 2**32-1, got "
                             f"{max_entries}")
        self._max_entries[name] = max_entries
        return self

    def btf(self, path: str | os.PathLike[str] | None) -> EbpfLoader:
        """Target BTF for CO-RE relocations (default: the running kernel's)."""
        self._btf = os.fspath(path) if path is not None else None
        return self

    def verifier_log_level(self, level: VerifierLogLevel | int) -> EbpfLoader:
        """Verifier log level used when loading programs (the log is kept on errors)."""
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 7:
            raise ValueError(f"verifier_log_level must be 0 .. 7 (DEBUG | VERBOSE | STATS), got "
                             f"{level!r}")
        self._log_level = VerifierLogLevel(level)
        return self

    def load_file(self, path: str | os.PathLike[str]) -> Ebpf:
        """Open and prepare the object at ``path``: maps are created, programs are not loaded."""
        p = os.fspath(path)
        try:
            with open(p, "rb", buffering=0) as f:  # unbuffered: readall sizes one read by fstat
                data = f.readall()
        except OSError as exc:
            raise ObjectError(f"reading eBPF object {p!r}", errno=exc.errno) from exc
        name = os.path.basename(p).removesuffix(".o").removesuffix(".bpf")
        return self.load(data, name)

    def load(self, data: bytes, name: str = "bpf_object") -> Ebpf:
        """Open and prepare an object from its ELF bytes."""
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"loading eBPF object {name!r}: the ELF object must be bytes, "
                                f"got {type(data).__name__}")
            data = bytes(data)
        if self._btf is not None and not os.path.isfile(self._btf):
            raise ObjectError(f"loading eBPF object {name!r}: the target BTF {self._btf} is "
                              "not a file", errno=errno.ENOENT)
        elf.check_elf(data, name)
        obj = BpfObject(data, name, pin_root_path=self._pin_dir, btf_custom_path=self._btf)
        try:
            return self._build(obj, elf.license_of(data))
        except BaseException:
            obj.close()
            raise

    def _build(self, obj: BpfObject, license: str) -> Ebpf:
        map_names = set(obj.map_names())
        for table in (self._max_entries, self._pin_paths):
            for name in table:
                if name not in map_names:
                    raise MapError(f"object {obj.name!r} has no map {name!r} "
                                   f"(maps: {', '.join(sorted(map_names)) or 'none'})")
        for name, n in self._max_entries.items():
            if obj.map_spec(name).internal:
                raise MapError(f"map_max_entries: {name!r} of {obj.name!r} is a data section, "
                               "sized by its variables")
            obj.set_max_entries(name, n)
        for name, path in self._pin_paths.items():
            obj.set_pin_path(name, path)
        self._apply_globals(obj)
        self._prepare_pin_dirs(obj)
        program_families.load_all()  # every family registered: each gets its typed class
        map_families.load_all()
        try:
            obj.prepare()
        except ObjectError as exc:
            for name in obj.map_names():
                map_type = obj.map_spec(name).map_type
                features.raise_if_unsupported(
                    "map", map_type, f"loading eBPF object {obj.name!r}: map {name!r}", exc,
                    MAP_CLASSES.get(map_type, Map).MIN_KERNEL)
            raise
        log_level = int(self._log_level)
        programs = {spec.name: _make_program(spec, obj, license, log_level)
                    for spec in obj.programs()}
        return Ebpf(obj, programs, obj.map_names())

    def _apply_globals(self, obj: BpfObject) -> None:
        if not self._globals:
            return
        found = {name: var for name, var in obj.global_vars().items()
                 if var.section.startswith(_DATA_SECTIONS)}  # not LICENSE, not maps
        for name, value in self._globals.items():
            var = found.get(name)
            if var is None:
                raise ObjectError(f"object {obj.name!r} has no global variable {name!r} "
                                  f"(globals: {', '.join(sorted(found)) or 'none'}; compile "
                                  "with -g so the object carries BTF)")
            obj.write_initial(var.section, var.offset, _encode_global(var, value))

    def _prepare_pin_dirs(self, obj: BpfObject) -> None:
        for name, path in sorted(obj.pin_paths().items()):
            directory = os.path.dirname(path)
            if fs.is_bpffs(directory):
                continue
            if directory in (self._pin_dir, fs.DEFAULT_BPFFS):
                fs.ensure_bpffs(directory)
            else:
                raise PinError(f"cannot pin map {name!r} at {path}: {directory} is not on a "
                               "bpffs (mount -t bpf bpf DIR)")


def _is_class_of(kind: object, base: type) -> bool:
    return isinstance(kind, type) and issubclass(kind, base)


_DATA_SECTIONS = (".data", ".rodata", ".bss")


def _encode_global(var: GlobalVar, value: object) -> bytes:
    if hasattr(value, "__index__") and not isinstance(value, bool):  # ints, numpy ints
        value = operator.index(value)
        try:
            return value.to_bytes(var.size, "little", signed=value < 0)
        except OverflowError:
            raise ObjectError(f"global {var.name!r}: {value} does not fit in {var.size} "
                              "bytes") from None
    if isinstance(value, bool):
        data = bytes([int(value)]) + bytes(var.size - 1)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)):
        data = bytes(cast(Any, value))
    else:
        raise TypeError(f"global {var.name!r}: value must be int, bool, bytes or a ctypes "
                        f"object, got {type(value).__name__}")
    if len(data) != var.size:
        raise ObjectError(f"global {var.name!r} is {var.size} bytes, the value given is "
                          f"{len(data)} bytes")
    return data


def _make_program(spec: ProgramSpec, obj: BpfObject, license: str, log_level: int) -> Program:
    cls = PROGRAM_CLASSES.get(spec.prog_type, Program)

    def load() -> Any:
        try:
            return obj.load_program(spec.name, license, log_level)
        except ProgramError as exc:
            if not exc.verifier_log:  # with a log, the verifier ran: the type exists
                features.raise_if_unsupported("program", spec.prog_type,
                                              f"loading program {spec.name!r}", exc,
                                              cls.MIN_KERNEL)
            raise

    return cls._from_spec(spec, load)


def _btf_typed(spec: MapSpec) -> bool:
    # Data sections (.bss, ...) stay by size: typed(value=Btf.from_object(ebpf).find(".bss"))
    # decodes their variables.
    return not spec.internal and bool(spec.btf_key_type_id or spec.btf_value_type_id)


def _make_map(spec: MapSpec, obj: BpfObject, source: BtfSource | None) -> Map:
    cls = MAP_CLASSES.get(spec.map_type, Map)
    m = cls(obj.map_fd(spec.name), spec.name, spec.map_type, spec.key_size, spec.value_size,
            spec.max_entries, spec.flags)
    try:
        m._take_from_object(obj, spec.name)
    except BaseException:
        m.close()
        raise
    if source is not None:
        typed = _btf_typed(spec)
        defer_btf(m, source, spec.btf_key_type_id if typed else 0,
                  spec.btf_value_type_id if typed else 0)
    return m
