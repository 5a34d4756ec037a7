"""Builds the CFFI module ``bpf4py._libbpf`` (out-of-line, API mode).

The C API is declared in ``src/bpf4py/_native/decl/*.h`` (cdef-only files, grouped like
libbpf's own headers, read in the order ``declaration_files()`` gives); bpf4py's own small C
helpers live in ``src/bpf4py/_native/csrc/*.c``.  libbpf comes from the pinned,
vendored release built as a static PIC ``libbpf.a`` by ``libbpf/vendor.py``; set
``BPF4PY_SYSTEM_LIBBPF=1`` to link the system's libbpf (found by pkg-config) instead.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
NATIVE = ROOT / "src" / "bpf4py" / "_native"
DECL_DIR = NATIVE / "decl"
CSRC_DIR = NATIVE / "csrc"
# Read first, in this order (the kernel types, then libbpf's headers as libbpf groups them);
# any other decl/*.h follows in name order, and bpf4py.h (bpf4py's own C helpers) comes last.
DECLARATIONS = ["uapi_bpf.h", "libbpf.h", "bpf.h", "btf.h", "libc.h"]
LAST = "bpf4py.h"
# bpf_object__prepare() and bpf_program__func_info()/line_info() arrived in libbpf 1.6.
MIN_SYSTEM_LIBBPF = (1, 6)


def _version() -> str:
    text = (ROOT / "src" / "bpf4py" / "_version.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', text)
    if not match:
        raise RuntimeError("src/bpf4py/_version.py has no __version__")
    return match.group(1)


def _pkg_config(*args: str) -> str:
    try:
        out = subprocess.run(
            ["pkg-config", *args, "libbpf"], check=True, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise SystemExit("BPF4PY_SYSTEM_LIBBPF=1 needs pkg-config to find libbpf") from None
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"BPF4PY_SYSTEM_LIBBPF=1: pkg-config cannot find libbpf ({exc.stderr.strip()}); "
            "install libbpf's development files or unset BPF4PY_SYSTEM_LIBBPF"
        ) from None
    return out.stdout.strip()


def _link_args() -> dict[str, list[str]]:
    if os.environ.get("BPF4PY_SYSTEM_LIBBPF", "") not in ("", "0"):
        found = _pkg_config("--modversion")
        have = tuple(int(p) for p in re.findall(r"\d+", found)[:2])
        if have < MIN_SYSTEM_LIBBPF:
            need = ".".join(map(str, MIN_SYSTEM_LIBBPF))
            raise SystemExit(
                f"BPF4PY_SYSTEM_LIBBPF=1: the system's libbpf is {found}, bpf4py needs libbpf "
                f">= {need} (bpf_object__prepare, bpf_program__func_info); unset "
                "BPF4PY_SYSTEM_LIBBPF to build the vendored release"
            )
        cflags = shlex.split(_pkg_config("--cflags"))
        libs = shlex.split(_pkg_config("--libs"))
        return {
            "include_dirs": [f[2:] for f in cflags if f.startswith("-I")],
            "library_dirs": [f[2:] for f in libs if f.startswith("-L")],
            "libraries": [f[2:] for f in libs if f.startswith("-l")],
            "extra_objects": [],
        }
    sys.path.insert(0, str(ROOT))
    from libbpf import vendor

    try:
        built = vendor.build()
    except vendor.VendorError as exc:
        raise SystemExit(f"libbpf: {exc}") from None
    return {
        "include_dirs": [str(built.include_dir)],
        "library_dirs": [],
        "libraries": ["elf", "z"],
        "extra_objects": [str(built.static_lib)],
    }


PRELUDE = r"""
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

const char BPF4PY_BUILD_VERSION[] = "%(version)s";
"""



def declaration_files() -> list[Path]:
    """The cdef files in the order they are read."""
    rest = sorted(p.name for p in DECL_DIR.glob("*.h") if p.name not in {*DECLARATIONS, LAST})
    return [DECL_DIR / name for name in (*DECLARATIONS, *rest, LAST)]


def source() -> str:
    """The C code of the module: the includes and version stamp, then csrc/*.c in name order
    (bpf4py's helpers that cffi cannot express, such as the va_list print callback)."""
    parts = [PRELUDE % {"version": _version()}]
    parts += [p.read_text() for p in sorted(CSRC_DIR.glob("*.c"))]
    return "\n".join(parts)


def make_ffibuilder() -> FFI:
    builder = FFI()
    builder.cdef("\n".join(path.read_text() for path in declaration_files()))
    builder.set_source(
        "bpf4py._libbpf",
        source(),
        extra_compile_args=["-O2"],
        **_link_args(),
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build" / "cffi"), verbose=True)
