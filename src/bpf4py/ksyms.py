"""Kernel symbols from ``/proc/kallsyms``: addresses -> function names (for stack traces).

Example::

    from bpf4py.ksyms import kernel_symbols
    symbols = kernel_symbols()                 # read once, cached
    sym = symbols.resolve(0xffffffff81234567)
    print(sym)                                 # "do_syscall_64+0x4f" (or "name [module]")
"""

from __future__ import annotations

import bisect
import threading
from typing import NamedTuple

from .errors import BpfError

KALLSYMS = "/proc/kallsyms"
_TEXT_TYPES = frozenset("tTwW")  # code: addresses in a stack trace resolve only to these


class KernelSymbol(NamedTuple):
    """The function an address falls in: its ``name``, start ``address``, the ``offset`` of
    the resolved address in it, and its ``module`` (None for the kernel image)."""

    name: str
    address: int
    offset: int = 0
    module: str | None = None

    def __str__(self) -> str:
        text = f"{self.name}+{self.offset:#x}" if self.offset else self.name
        return f"{text} [{self.module}]" if self.module else text


class KernelSymbols:
    """The kernel's function symbols, sorted by address; :meth:`resolve` finds the function
    an instruction pointer is in (binary search)."""

    def __init__(self, text: str) -> None:
        """Parse ``/proc/kallsyms``-formatted ``text`` (``address type name [module]``)."""
        entries: list[tuple[int, str, str | None]] = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[1] not in _TEXT_TYPES:
                continue
            module = parts[3].strip("[]") if len(parts) > 3 else None
            entries.append((int(parts[0], 16), parts[2], module))
        entries.sort(key=lambda e: e[0])
        self._addresses = [e[0] for e in entries]
        self._entries = entries

    @classmethod
    def load(cls, path: str = KALLSYMS) -> KernelSymbols:
        """Read the running kernel's symbols.  Raises BpfError when the kernel hides the
        addresses (they read as 0 without root or with ``kernel.kptr_restrict=2``)."""
        try:
            with open(path) as f:
                symbols = cls(f.read())
        except OSError as exc:
            raise BpfError(f"reading kernel symbols from {path}", errno=exc.errno) from None
        if not symbols._addresses or symbols._addresses[-1] == 0:
            raise BpfError(f"{path} shows no symbol addresses",
                           hint="reading them needs root (CAP_SYSLOG) and kernel.kptr_restrict "
                                "< 2")
        return symbols

    def __len__(self) -> int:
        return len(self._entries)

    def resolve(self, address: int) -> KernelSymbol | None:
        """The function ``address`` is in (the closest symbol at or below it); None below the
        first symbol."""
        i = bisect.bisect_right(self._addresses, address) - 1
        if i < 0:
            return None
        start, name, module = self._entries[i]
        return KernelSymbol(name, start, address - start, module)


_cache: KernelSymbols | None = None
_cache_lock = threading.Lock()


def kernel_symbols(refresh: bool = False) -> KernelSymbols:
    """The running kernel's symbols, read once and cached (``refresh`` reads them again, e.g.
    after loading a module)."""
    global _cache
    with _cache_lock:
        if _cache is None or refresh:
            _cache = KernelSymbols.load()
        return _cache
