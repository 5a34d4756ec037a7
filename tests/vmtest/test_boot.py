"""One real boot: a tiny command on Debian's 6.12 under qemu, through the command-line entry.

Runs under ``make test-vm`` (BPF4PY_VMTEST=1, which downloads the kernel when needed) or when
the kernel is already cached and virtme-ng is installed; skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from bpf4py.vmtest.__main__ import main
from bpf4py.vmtest.kernels import cache_root, cached

VERSION = "6.12"
pytestmark = pytest.mark.vm


def _can_boot() -> str | None:
    if os.environ.get("BPF4PY_VMTEST"):
        return None
    if cached(VERSION, cache_root() / VERSION) is None:
        return f"Debian's {VERSION} kernel is not cached (make test-vm downloads it)"
    if shutil.which("vng") is None and not (Path(sys.executable).parent / "vng").is_file():
        return "virtme-ng is not installed (make test-vm installs it)"
    return None


@pytest.fixture(autouse=True)
def bootable() -> None:
    reason = _can_boot()
    if reason:
        pytest.skip(reason)


def test_command_runs_as_root_in_the_guest_and_its_status_comes_back(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    marker = f"/bpf4py-vmtest-{os.getpid()}"
    script = (
        "uname -r; id -u; echo kernel=$BPF4PY_VM_KERNEL; "
        "grep -E ' (bpf|tracefs|debugfs|cgroup2) ' /proc/mounts | cut -d' ' -f3 | sort -u; "
        "lsmod | cut -d' ' -f1 | grep -E '^(veth|sch_ingress|cls_bpf)$' | sort; "
        f"touch {marker} 2>/dev/null && echo root-is-writable; "
        "echo written-in-the-guest > shared.txt; exit 3"
    )
    status = main(["--kernel", VERSION, "--project", str(tmp_path), "--no-prebuild",
                   "--", "sh", "-c", script])
    out = capfd.readouterr().out
    kernel = cached(VERSION, cache_root() / VERSION)
    assert kernel is not None and kernel.release
    assert status == 3, out
    lines = out.splitlines()
    start = lines.index(kernel.release)
    assert lines[start:start + 10] == [
        kernel.release, "0", f"kernel={VERSION}",
        "bpf", "cgroup2", "debugfs", "tracefs",
        "cls_bpf", "sch_ingress", "veth",
    ]
    assert "root-is-writable" not in out and not os.path.exists(marker)
    assert (tmp_path / "shared.txt").read_text() == "written-in-the-guest\n"
    row = next(line for line in lines if line.startswith(f"{VERSION} "))
    assert row.split()[:6] == [VERSION, kernel.release, "3", "-", "-", "-"]
    assert f"{VERSION}: no pytest results" in out
