"""Builds the CFFI module ``bpf4py._libbpf`` (out-of-line, API mode).

The C API is declared in ``src/bpf4py/_native/decl/*.h`` (cdef-only files, grouped like
libbpf's own headers and read in the order of ``DECLARATIONS``).  libbpf comes from the pinned,
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
DECL_DIR = ROOT / "src" / "bpf4py" / "_native" / "decl"
DECLARATIONS = ["uapi_bpf.h", "libbpf.h", "bpf.h", "btf.h", "libc.h", "bpf4py.h"]
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


SOURCE = r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

const char BPF4PY_BUILD_VERSION[] = "%(version)s";

static void bpf4py_log(int level, const char *message);
static int bpf4py_max_level = LIBBPF_WARN;

static int bpf4py_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char small[512];
    char *buf = small;
    va_list copy;
    int n;

    if ((int)level > bpf4py_max_level)
        return 0;
    va_copy(copy, args);
    n = vsnprintf(small, sizeof(small), fmt, args);
    if (n >= (int)sizeof(small)) {
        buf = malloc((size_t)n + 1);
        if (buf)
            vsnprintf(buf, (size_t)n + 1, fmt, copy);
        else
            buf = small;
    }
    va_end(copy);
    if (n >= 0)
        bpf4py_log((int)level, buf);
    if (buf != small)
        free(buf);
    return n;
}

static void bpf4py_set_print(int max_level)
{
    bpf4py_max_level = max_level;
    libbpf_set_print(bpf4py_print);
}
"""


def make_ffibuilder() -> FFI:
    builder = FFI()
    builder.cdef("\n".join((DECL_DIR / name).read_text() for name in DECLARATIONS))
    builder.set_source(
        "bpf4py._libbpf",
        SOURCE % {"version": _version()},
        extra_compile_args=["-O2"],
        **_link_args(),
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build" / "cffi"), verbose=True)
