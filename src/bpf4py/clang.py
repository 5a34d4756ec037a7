"""Compile eBPF C programs with clang (``-target bpf``), for tests, demos and notebooks.

Example::

    from bpf4py.clang import compile_program
    obj = compile_program("counter.bpf.c")          # -> counter.bpf.o beside it
    ebpf = Ebpf.load_file(obj)

Headers: libbpf's ``bpf/*.h`` are looked up in ``$BPF4PY_INCLUDE``, then in the vendored
libbpf build of a source checkout, then in the system's include path (libbpf-dev).  With
``vmlinux=True`` a ``vmlinux.h`` for CO-RE is generated from the running kernel's BTF with
bpftool and put on the include path.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from .errors import BpfError

_CHECKOUT_INCLUDE = Path(__file__).resolve().parents[2] / "libbpf" / "build" / "include"


class CompileError(BpfError):
    """clang (or bpftool) failed; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message + (f"\n{output.rstrip()}" if output else ""))
        self.output = output


def include_dirs() -> list[str]:
    """Include directories for BPF programs: libbpf's headers and the kernel UAPI."""
    dirs = []
    env = os.environ.get("BPF4PY_INCLUDE")
    if env:
        dirs.append(env)
    if (_CHECKOUT_INCLUDE / "bpf" / "bpf_helpers.h").is_file():
        dirs.append(str(_CHECKOUT_INCLUDE))
    multiarch = Path(f"/usr/include/{platform.machine()}-linux-gnu")
    if multiarch.is_dir():
        dirs.append(str(multiarch))  # asm/types.h for <linux/*.h> under -target bpf
    return dirs


def vmlinux_header(directory: str | os.PathLike[str]) -> Path:
    """Write ``vmlinux.h`` for the running kernel into ``directory`` (cached); return it."""
    out = Path(directory) / "vmlinux.h"
    btf = Path("/sys/kernel/btf/vmlinux")
    if out.is_file() and out.stat().st_mtime >= btf.stat().st_mtime:
        return out
    tool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    try:
        text = subprocess.run([tool, "btf", "dump", "file", str(btf), "format", "c"],
                              check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise CompileError("bpftool is needed to generate vmlinux.h (apt install bpftool)") \
            from None
    except subprocess.CalledProcessError as exc:
        raise CompileError("bpftool could not dump the kernel's BTF", exc.stderr) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return out


def compile_program(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    vmlinux_dir: str | os.PathLike[str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Path:
    """Compile ``source`` to an eBPF object (``-O2 -g``, so it carries BTF); skip the work when
    the object is newer than the source.  Returns the object's path."""
    src = Path(source)
    out = Path(output) if output is not None else src.with_suffix(".o")
    if out.is_file() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    clang = os.environ.get("BPF4PY_CLANG") or shutil.which("clang")
    if clang is None:
        raise CompileError("clang is needed to compile eBPF programs (apt install clang)")
    args = [clang, "-target", "bpf", "-O2", "-g", "-Wall", "-Werror",
            f"-D__TARGET_ARCH_{_target_arch()}"]
    if vmlinux_dir is not None:
        args += ["-I", str(vmlinux_header(vmlinux_dir).parent)]
    for d in include_dirs():
        args += ["-I", d]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    args += [*extra_args, "-c", str(src), "-o", str(tmp)]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(f"clang failed to compile {src}", proc.stderr)
    tmp.replace(out)
    return out


def _target_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "x86", "aarch64": "arm64", "ppc64le": "powerpc", "s390x": "s390",
            "riscv64": "riscv"}.get(machine, machine)
