"""The bundled demo: ``python -m bpf4py.demo`` (see ``__main__``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def program_source() -> Path:
    """The demo's eBPF C source, ``packet_counter.bpf.c``."""
    return Path(str(files(__name__) / "packet_counter.bpf.c"))
