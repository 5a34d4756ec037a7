"""Shared fixtures: compiled BPF objects, bpffs, cgroups, network namespaces.

Tests under tests/kernel/ (and any test marked ``kernel``) need root and a BPF-capable kernel.
Without them they skip -- except under ``CI=true``, where a skipped kernel test is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py.clang import compile_program
from bpf4py.fs import cgroup2_mount, ensure_bpffs

HERE = Path(__file__).resolve().parent
BPF_SRC = HERE / "bpf"
# The demo's program is bundled in the package; the tests drive it too.
DEMO_SRC = HERE.parent / "src" / "bpf4py" / "demo"
BPF_BUILD = BPF_SRC / "build"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kernel" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.kernel)


def _kernel_missing() -> str | None:
    if os.geteuid() != 0:
        return "kernel tests need root"
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel"):
        reason = _kernel_missing()
        if reason:
            pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("kernel"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        # Inside the VM runner (tests/kernel_features.py), an older kernel may lack a feature:
        # a skip that names the Linux version needed stays a skip there, and only there.
        if os.environ.get("BPF4PY_VM_KERNEL") and str(reason).startswith("Skipped: needs Linux "):
            return
        report.outcome = "failed"
        report.longrepr = f"kernel test skipped under CI=true (a failure here): {reason}"


@pytest.fixture(scope="session")
def bpf_object() -> Callable[[str], Path]:
    """``bpf_object("maps")`` compiles tests/bpf/maps.bpf.c (or the demo's program of that
    name) and returns the object's path; compiled once, cached in tests/bpf/build."""

    def build(name: str) -> Path:
        src = BPF_SRC / f"{name}.bpf.c"
        if not src.exists():
            src = DEMO_SRC / f"{name}.bpf.c"
        return compile_program(src, BPF_BUILD / f"{name}.bpf.o", vmlinux_dir=BPF_BUILD)

    return build


@pytest.fixture
def bpffs() -> Iterator[Path]:
    """A fresh directory on bpffs (mounted at /sys/fs/bpf when needed), removed afterwards."""
    root = Path(ensure_bpffs("/sys/fs/bpf"))
    d = root / f"bpf4py-test-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cgroup() -> Iterator[Path]:
    """A new child cgroup under the cgroup v2 mount; emptied and removed afterwards."""
    root = Path(cgroup2_mount())
    path = root / f"bpf4py-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    procs = path / "cgroup.procs"
    try:
        for pid in procs.read_text().split():
            try:
                (root / "cgroup.procs").write_text(pid)
            except OSError:
                pass
    except OSError:
        pass
    for _ in range(50):
        try:
            path.rmdir()
            break
        except OSError:
            import time

            time.sleep(0.05)


@pytest.fixture
def netns_pair() -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair (10.200.x.1/24 <-> 10.200.x.2/24, with
    loopback up); yields their names and deletes them afterwards."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"bpf4py-a-{tag}", f"bpf4py-b-{tag}"
    net = 200
    cmds = [
        ["ip", "netns", "add", a],
        ["ip", "netns", "add", b],
        ["ip", "link", "add", f"va{tag}", "netns", a, "type", "veth", "peer", "name",
         f"vb{tag}", "netns", b],
        ["ip", "-n", a, "addr", "add", f"10.{net}.0.1/24", "dev", f"va{tag}"],
        ["ip", "-n", b, "addr", "add", f"10.{net}.0.2/24", "dev", f"vb{tag}"],
        ["ip", "-n", a, "link", "set", f"va{tag}", "up"],
        ["ip", "-n", b, "link", "set", f"vb{tag}", "up"],
        ["ip", "-n", a, "link", "set", "lo", "up"],
        ["ip", "-n", b, "link", "set", "lo", "up"],
    ]
    try:
        for cmd in cmds:
            subprocess.run(cmd, check=True, capture_output=True)
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))
