"""Program info, statistics, the loaded-object listings, and libbpf's log in logging."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Ebpf, ObjectError, ProgramType, SocketFilter
from bpf4py.info import enable_stats, loaded_maps, loaded_programs
from tests.packets import udp_packet


def test_program_info_fields(bpf_object: Callable[[str], Path]) -> None:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        info = prog.info()
        assert info.name == "count_packets" and info.program_type == ProgramType.SOCKET_FILTER
        assert len(info.tag) == 8 and info.xlated_size > 0 and info.jited_size > 0
        assert info.verified_instruction_count > 0 and info.btf_id > 0
        assert abs(info.loaded_at - time.time()) < 60
        map_ids = {m.id for m in loaded_maps() if m.name in ("COUNTS", "TOTALS")}
        assert map_ids & set(info.map_ids) == {ebpf.map("COUNTS").info().id,
                                               ebpf.map("TOTALS").info().id}
        assert info.id in {p.id for p in loaded_programs()}


def test_run_statistics_when_enabled(bpf_object: Callable[[str], Path]) -> None:
    with Ebpf.load_file(bpf_object("packet_counter")) as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        with enable_stats():
            prog.test_run(data_in=udp_packet(b"x"), repeat=50)
            info = prog.info()
        assert info.run_count >= 50 and info.run_time_ns > 0


def test_libbpf_messages_reach_logging(bpf_object: Callable[[str], Path],
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bpf4py.libbpf")
    with Ebpf.load_file(bpf_object("packet_counter")):
        pass
    messages = [r.getMessage() for r in caplog.records if r.name == "bpf4py.libbpf"]
    assert any("libbpf: " in m for m in messages), messages[:5]


def test_libbpf_warnings_are_quoted_in_the_exception(tmp_path: Path) -> None:
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    with pytest.raises(ObjectError) as exc:
        Ebpf.load_file(bad)
    assert "libbpf: " in str(exc.value)
    assert exc.value.errno_name == "LIBBPF_ERRNO__FORMAT"
    assert "(BPF object format invalid)" in str(exc.value)
