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
DECLARATIONS = ["uapi_bpf.h", "libbpf.h", "bpf.h", "btf.h", "libc.h", "ringbuf.h", "bpf4py.h"]
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

/* Ring buffer batches.  libbpf calls the sample callback once per record; calling Python per
 * record would cost far more than the record.  So the callback appends each record to one
 * growing buffer laid out as a marshal stream of a list of bytes -- '[' + int32 count, then
 * 's' + int32 length + the bytes for each record -- and Python turns a whole batch into a
 * list of bytes with one marshal.loads() call.  The buffer keeps its capacity between batches
 * and is freed with the consumer. */
#define BPF4PY_RB_ITEM_HDR 5          /* type code + int32 (little-endian) */
#define BPF4PY_RB_MIN_CAP (64 * 1024)

struct bpf4py_ringbuf {
    struct ring_buffer *rb;
    unsigned char *buf;
    size_t len;
    size_t cap;
    size_t count;
};

static void bpf4py_put_le32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static int bpf4py_ringbuf_reserve(struct bpf4py_ringbuf *r, size_t need)
{
    size_t cap = r->cap ? r->cap : BPF4PY_RB_MIN_CAP;
    unsigned char *buf;

    if (r->len + need <= r->cap)
        return 0;
    while (cap < r->len + need)
        cap *= 2;
    buf = realloc(r->buf, cap);
    if (!buf)
        return -ENOMEM;
    r->buf = buf;
    r->cap = cap;
    return 0;
}

static int bpf4py_ringbuf_sample(void *ctx, void *data, size_t size)
{
    struct bpf4py_ringbuf *r = ctx;
    unsigned char *p;

    if (bpf4py_ringbuf_reserve(r, BPF4PY_RB_ITEM_HDR + size))
        return -ENOMEM;
    p = r->buf + r->len;
    p[0] = 's';
    bpf4py_put_le32(p + 1, size);
    memcpy(p + BPF4PY_RB_ITEM_HDR, data, size);
    r->len += BPF4PY_RB_ITEM_HDR + size;
    r->count++;
    return 0;
}

static void bpf4py_ringbuf_free(struct bpf4py_ringbuf *r)
{
    if (!r)
        return;
    ring_buffer__free(r->rb);
    free(r->buf);
    free(r);
}

static struct bpf4py_ringbuf *bpf4py_ringbuf_new(int map_fd)
{
    struct bpf4py_ringbuf *r = calloc(1, sizeof(*r));
    int err;

    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->rb = ring_buffer__new(map_fd, bpf4py_ringbuf_sample, r, NULL);
    if (!r->rb) {
        err = errno;
        free(r);
        errno = err;
        return NULL;
    }
    return r;
}

static int bpf4py_ringbuf_drain(struct bpf4py_ringbuf *r, size_t max_records)
{
    int ret;

    r->len = 0;
    r->count = 0;
    if (bpf4py_ringbuf_reserve(r, BPF4PY_RB_ITEM_HDR))
        return -ENOMEM;
    r->buf[0] = '[';
    r->len = BPF4PY_RB_ITEM_HDR;
    ret = ring_buffer__consume_n(r->rb, max_records);
    bpf4py_put_le32(r->buf + 1, r->count);
    return ret < 0 ? ret : (int)r->count;
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
