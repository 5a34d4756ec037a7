"""KernelSymbols: /proc/kallsyms parsing and address resolution (no kernel needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpf4py.errors import BpfError
from bpf4py.ksyms import KernelSymbols
from bpf4py.maps.stack_trace import StackTrace

KALLSYMS = """\
0000000000004000 W weak
0000000000001000 T first
0000000000002000 t second\t[mod]
0000000000003000 D data_is_ignored
garbage
"""


def test_parse_and_resolve() -> None:
    symbols = KernelSymbols(KALLSYMS)
    assert len(symbols) == 3  # code symbols only, in any input order
    assert symbols.resolve(0x0FFF) is None
    assert str(symbols.resolve(0x1000)) == "first"
    assert str(symbols.resolve(0x2010)) == "second+0x10 [mod]"
    assert str(symbols.resolve(0x3500)) == "second+0x1500 [mod]"  # data symbols are skipped
    sym = symbols.resolve(0x4001)
    assert sym is not None
    assert (sym.name, sym.address, sym.offset, sym.module) == ("weak", 0x4000, 1, None)


def test_stack_trace_symbolize_with_given_symbols() -> None:
    symbols = KernelSymbols(KALLSYMS)
    assert StackTrace(1, [0x1004, 0x10]).symbolize(symbols) == ["first+0x4", "0x10"]
    assert StackTrace(2, []).symbolize(symbols) == []


def test_hidden_or_missing_addresses(tmp_path: Path) -> None:
    hidden = tmp_path / "kallsyms"
    hidden.write_text("0000000000000000 T first\n0000000000000000 T second\n")
    with pytest.raises(BpfError, match="no symbol addresses") as exc:
        KernelSymbols.load(str(hidden))
    assert "kptr_restrict" in str(exc.value)
    with pytest.raises(BpfError, match="reading kernel symbols") as exc:
        KernelSymbols.load(str(tmp_path / "missing"))
    assert exc.value.errno_name == "ENOENT"
