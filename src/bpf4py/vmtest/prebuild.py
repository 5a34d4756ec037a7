"""Compile the project's BPF test objects on the host before booting a guest.

The guest sees the project directory, so objects compiled here are used as they are; without
this step the first guest to need an object would compile it under emulation and write a
``vmlinux.h`` generated from the *guest* kernel's BTF into the shared build directory.  The
sources and the build directory are the ones ``tests/conftest.py`` names (``BPF_SRC``,
``DEMO_SRC``, ``BPF_BUILD``), compiled the way its ``bpf_object`` fixture does.

Example::

    from bpf4py.vmtest.prebuild import build_test_objects
    build_test_objects(Path("."))     # [.../tests/bpf/build/maps.bpf.o, ...]
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bpf4py.clang import compile_program

from .errors import VmTestError


def _load_conftest(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bpf4py_vmtest_conftest", path)
    if spec is None or spec.loader is None:
        raise VmTestError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_test_objects(project: Path) -> list[Path]:
    """Compile every ``*.bpf.c`` the project's test fixture can build (up-to-date objects
    are kept); returns the objects.  A project without tests/conftest.py has nothing to do."""
    conftest = project / "tests" / "conftest.py"
    if not conftest.is_file():
        return []
    names = _load_conftest(conftest)
    try:
        sources: Path = names.BPF_SRC
        build: Path = names.BPF_BUILD
        extra: Path | None = getattr(names, "DEMO_SRC", None)
    except AttributeError as exc:
        raise VmTestError(f"{conftest} does not name the BPF sources ({exc})") from None
    objects = {}
    for directory in (extra, sources):  # tests/bpf wins over the demo on a name clash
        for src in sorted(directory.glob("*.bpf.c")) if directory else []:
            objects[src.name] = src
    return [compile_program(src, build / (src.name[:-2] + ".o"), vmlinux_dir=build)
            for src in objects.values()]
