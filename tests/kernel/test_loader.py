"""The loader: lazy per-program loading, global functions, globals, CO-RE, errors."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    ClosedError,
    Ebpf,
    EbpfLoader,
    HashMap,
    MapError,
    ObjectError,
    ProgramError,
    ProgramType,
    SocketFilter,
    TracePoint,
    VerifierLogLevel,
)
from bpf4py.info import loaded_programs
from tests.packets import udp_packet

Build = Callable[[str], Path]


def program_ids() -> set[int]:
    return {info.id for info in loaded_programs()}


def test_programs_are_typed_and_not_loaded_until_load(bpf_object: Build) -> None:
    before = program_ids()
    with Ebpf.load_file(bpf_object("loader_cases")) as ebpf:
        assert set(ebpf.programs) == {"uses_global_func", "second_program"}
        prog = ebpf.program("uses_global_func")
        assert isinstance(prog, SocketFilter) and prog.section == "socket"
        assert not prog.loaded
        assert program_ids() == before  # nothing reached the kernel yet
        assert {".rodata", ".data", ".bss", "RESULTS"} <= set(ebpf.maps)
        assert isinstance(ebpf.map("RESULTS"), Array)
        prog.load()
        assert program_ids() - before == {prog.info().id}
    assert program_ids() == before  # closing the Ebpf unloaded it


def test_global_function_needs_func_info_and_works(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("loader_cases")) as ebpf:
        prog = ebpf.program("uses_global_func", SocketFilter)
        prog.load()
        pkt = udp_packet(b"x" * 20)
        result = prog.test_run(data_in=pkt)
        skb_len = len(pkt) - 14
        assert result.return_value == skb_len
        # scaled_len() multiplies by the .data global `multiplier` (3).
        assert ebpf.map("RESULTS")[0] == skb_len * 3
        assert ebpf.map(".bss")[0] == 1  # runs


def test_program_loaded_after_another_is_attached(bpf_object: Build) -> None:
    import socket

    with Ebpf.load_file(bpf_object("loader_cases")) as ebpf:
        first = ebpf.program("uses_global_func", SocketFilter)
        first.load()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        with sock:
            first.attach(sock)
            second = ebpf.program("second_program", SocketFilter)
            second.load()
            assert second.test_run(data_in=udp_packet(b"")).return_value == 0
            assert ebpf.map("RESULTS")[1] == 0xFEED
            # Both programs share the object's maps.
            assert set(first.info().map_ids) & set(second.info().map_ids)


def test_load_all_is_one_call(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("loader_cases")) as ebpf:
        ebpf.load_all()
        assert all(p.loaded for p in ebpf.programs.values())
        ebpf.load_all()  # already loaded: nothing to do


def test_override_rodata_global(bpf_object: Build) -> None:
    loader = EbpfLoader().override_global("verdict_len", 7)
    with loader.load_file(bpf_object("loader_cases")) as ebpf:
        prog = ebpf.program("uses_global_func", SocketFilter)
        prog.load()
        assert prog.test_run(data_in=udp_packet(b"abc")).return_value == 7
        assert ebpf.map(".rodata")[0] == 7


def test_override_global_errors(bpf_object: Build) -> None:
    with pytest.raises(ObjectError, match="no global variable 'nope'.*verdict_len"):
        EbpfLoader().override_global("nope", 1).load_file(bpf_object("loader_cases"))
    with pytest.raises(ObjectError, match="4 bytes, the value given is 2 bytes"):
        EbpfLoader().override_global("verdict_len", b"ab").load_file(bpf_object("loader_cases"))
    with pytest.raises(ObjectError, match="does not fit"):
        EbpfLoader().override_global("verdict_len", 1 << 40).load_file(
            bpf_object("loader_cases"))
    with pytest.raises(ObjectError, match="no global variable 'LICENSE' .globals: "
                                          "multiplier, runs, verdict_len;"):  # not a global
        EbpfLoader().override_global("LICENSE", b"MIT\0").load_file(bpf_object("loader_cases"))
    with pytest.raises(TypeError, match="the name must be a str"):
        EbpfLoader().override_global(7, 1)  # type: ignore[arg-type]
    np = pytest.importorskip("numpy")
    with EbpfLoader().override_global("verdict_len", np.uint32(9)).load_file(
            bpf_object("loader_cases")) as ebpf:
        assert ebpf.map(".rodata")[0] == 9


def test_loader_settings_are_checked(bpf_object: Build, tmp_path: Path) -> None:
    for level in (-1, 8, 16, True, "1"):
        with pytest.raises(ValueError, match="verifier_log_level must be 0 .. 7"):
            EbpfLoader().verifier_log_level(level)  # type: ignore[arg-type]
    for bad, error in ((0, ValueError), (1 << 32, ValueError), (2.5, TypeError),
                       (True, TypeError)):
        with pytest.raises(error, match="max_entries of map 'HASH' must be"):
            EbpfLoader().map_max_entries("HASH", bad)  # type: ignore[arg-type]
    with pytest.raises(MapError, match="'.bss' of 'loader_cases' is a data section"):
        EbpfLoader().map_max_entries(".bss", 4).load_file(bpf_object("loader_cases"))
    missing = tmp_path / "vmlinux.btf"
    with pytest.raises(ObjectError, match=f"the target BTF {missing} is not a file") as exc:
        EbpfLoader().btf(missing).load_file(bpf_object("loader_cases"))
    assert exc.value.errno_name == "ENOENT"
    data = bpf_object("loader_cases").read_bytes()
    with Ebpf.load(bytearray(data), "from_bytearray"), Ebpf.load(memoryview(data)):
        pass
    for not_bytes in (None, "text", 7):
        with pytest.raises(TypeError, match="the ELF object must be bytes"):
            Ebpf.load(not_bytes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contains a NUL byte"):
        Ebpf.load(data, "bad\0name")


def test_map_max_entries_override(bpf_object: Build, bpffs: Path) -> None:
    loader = EbpfLoader().map_max_entries("HASH", 1000).default_map_pin_directory(bpffs)
    with loader.load_file(bpf_object("maps")) as ebpf:
        m = ebpf.map("HASH", HashMap)
        assert m.max_entries == 1000 and m.info().max_entries == 1000
    with pytest.raises(MapError, match="no map 'NOPE'"):
        EbpfLoader().map_max_entries("NOPE", 4).load_file(bpf_object("maps"))
    with pytest.raises(ValueError, match="must be 1 .. 2"):
        EbpfLoader().map_max_entries("HASH", 0)


def test_verifier_rejection_carries_the_log(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("rejected")) as ebpf:
        prog = ebpf.program("unchecked_lookup")
        with pytest.raises(ProgramError) as exc:
            prog.load()
        err = exc.value
        assert err.errno_name == "EACCES"
        assert not isinstance(err, PermissionError)  # the verifier said no, not a privilege
        assert err.verifier_log and "invalid mem access 'map_value_or_null'" in err.verifier_log
        assert str(err).rstrip().endswith(err.verifier_log.rstrip().splitlines()[-1])
        assert "unchecked_lookup" in str(err)
        assert not prog.loaded


def test_verifier_log_level_still_loads(bpf_object: Build) -> None:
    loader = EbpfLoader().verifier_log_level(VerifierLogLevel.DEBUG | VerifierLogLevel.STATS)
    with loader.load_file(bpf_object("packet_counter")) as ebpf:
        ebpf.program("count_packets").load()


def test_core_relocations_against_kernel_btf(bpf_object: Build) -> None:
    for loader in (EbpfLoader(), EbpfLoader().btf("/sys/kernel/btf/vmlinux")):
        with loader.load_file(bpf_object("core_task")) as ebpf:
            prog = ebpf.program("record_tgid")
            assert isinstance(prog, TracePoint)
            prog.load()
            assert prog.info().program_type == ProgramType.TRACEPOINT


def test_not_an_elf_object(tmp_path: Path) -> None:
    with pytest.raises(ObjectError, match="not an ELF object"):
        Ebpf.load(b"hello world" * 10)
    bad = tmp_path / "x.o"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 100)
    with pytest.raises(ObjectError, match="opening eBPF object 'x'"):
        Ebpf.load_file(bad)
    with pytest.raises(ObjectError, match="reading eBPF object"):
        Ebpf.load_file(tmp_path / "missing.o")


def test_truncated_object(bpf_object: Build) -> None:
    data = bpf_object("packet_counter").read_bytes()
    with pytest.raises(ObjectError):
        Ebpf.load(data[: len(data) // 2], "truncated")


def test_lookup_errors_and_closed_object(bpf_object: Build) -> None:
    ebpf = Ebpf.load_file(bpf_object("packet_counter"))
    with pytest.raises(ProgramError, match="no program 'nope'.*count_packets"):
        ebpf.program("nope")
    with pytest.raises(MapError, match="no map 'nope'.*COUNTS"):
        ebpf.map("nope")
    with pytest.raises(MapError, match="is a HashMap, not a Array"):
        ebpf.map("COUNTS", Array)
    with pytest.raises(TypeError, match="kind must be a Map class"):
        ebpf.map("COUNTS", "HashMap")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="kind must be a Program class"):
        ebpf.program("count_packets", "SocketFilter")  # type: ignore[call-overload]
    prog = ebpf.program("count_packets", SocketFilter)
    prog.load()
    ebpf.close()
    ebpf.close()  # twice is fine
    with pytest.raises(ClosedError):
        ebpf.map("COUNTS")
    for use in (prog.load, lambda: prog.fd, lambda: prog.test_run(data_in=udp_packet(b"x")),
                lambda: prog.test_run(data_in=udp_packet(b"x"), data_out_size=0)):
        with pytest.raises(ClosedError, match="unloaded when its Ebpf object closed"):
            use()  # not NotLoadedError's "call load() first"


def test_take_map_outlives_the_object(bpf_object: Build, bpffs: Path) -> None:
    ebpf = EbpfLoader().default_map_pin_directory(bpffs).load_file(bpf_object("maps"))
    hashmap = ebpf.take_map("HASH")
    assert "HASH" not in ebpf.maps
    ebpf.close()
    hashmap[1] = 2
    assert hashmap[1] == 2
    hashmap.close()
    with pytest.raises(ClosedError):
        hashmap[1]


def test_map_objects_are_made_on_first_access_once(bpf_object: Build, bpffs: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with EbpfLoader().default_map_pin_directory(bpffs).load_file(bpf_object("maps")) as ebpf:
        before = open_fds()
        start = threading.Barrier(8)
        got: list[HashMap] = []

        def first_access() -> None:
            start.wait()
            got.append(ebpf.map("HASH", HashMap))

        threads = [threading.Thread(target=first_access) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(m) for m in got}) == 1  # one object, one descriptor
        assert open_fds() == before + 1
        got[0][1] = 2
        assert "HASH" in repr(ebpf) and ebpf.maps["HASH"] is got[0]
        assert open_fds() == before + len(ebpf.maps)  # every map made by .maps
    assert got[0].closed


def test_unloaded_program_can_load_again(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        first = prog.info().id
        prog.unload()
        gc.collect()
        assert first not in program_ids()
        prog.load()
        assert prog.info().id != first


def test_btf_attached_programs_resolve_their_target(bpf_object: Build) -> None:
    with Ebpf.load_file(bpf_object("btf_attached")) as ebpf:
        prog = ebpf.program("on_sys_enter")
        prog.load()  # tp_btf: loads only with the target's vmlinux BTF id
        assert prog.info().program_type == ProgramType.TRACING
        with pytest.raises(ProgramError, match="finding 'no_such_tracepoint_anywhere' in the "
                                               "kernel's BTF") as exc:
            ebpf.program("bad_target").load()
        assert exc.value.errno_name == "ENOENT"
