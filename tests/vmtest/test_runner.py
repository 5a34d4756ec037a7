"""The runner's pieces that need no VM: the guest script, pytest detection, exit statuses,
kernel resolution and the cache layout, the guest's mount handling."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest

from bpf4py.vmtest.__main__ import DEFAULT_COMMAND, NO_STATUS, exit_status, parse_args
from bpf4py.vmtest.errors import VmTestError
from bpf4py.vmtest.guest import Mount, cgroup_layout, read_mounts, v1_options
from bpf4py.vmtest.kernels import (
    Kernel,
    cached,
    missing_modules,
    modules_dir,
    real_image_package,
    resolve,
)
from bpf4py.vmtest.runner import (
    Guests,
    RunResult,
    guest_script,
    is_pytest,
    read_status,
    run_in_vm,
    vng_command,
    with_junit,
)

KERNEL = Kernel("6.1", Path("/cache/6.1/root/boot/vmlinuz-6.1.0-41-amd64"), "6.1.0-41-amd64")


def test_pytest_commands_get_junit_and_skip_reasons(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    assert is_pytest(DEFAULT_COMMAND)
    assert is_pytest(["/x/.venv/bin/pytest", "-q"]) and is_pytest(["py.test"])
    assert not is_pytest(["uname", "-r"]) and not is_pytest(["python", "-m", "mypy"])
    assert not is_pytest(["echo", "pytest"]) and not is_pytest([])
    assert with_junit(["pytest", "-q"], junit) == ["pytest", "-q", "-rs", f"--junitxml={junit}"]
    assert with_junit(["uname", "-r"], junit) == ["uname", "-r"]


def test_guest_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    project, results = Path("/work/my project"), tmp_path
    script = guest_script(KERNEL, ["sh", "-c", "echo 'a b'"], project, results,
                          python="/venv/bin/python")
    lines = script.splitlines()
    assert lines[0] == "#!/bin/sh"
    assert lines[1] == "export BPF4PY_VM_KERNEL=6.1 PATH=/venv/bin:$PATH CI=true"
    assert lines[2] == "cd '/work/my project' || exit 1"
    assert lines[3] == (f"/venv/bin/python -m bpf4py.vmtest.guest {results}/cgroups.json && "
                        "sh -c 'echo '\"'\"'a b'\"'\"''")
    assert shlex.split(lines[3].split(" && ")[1]) == ["sh", "-c", "echo 'a b'"]
    assert lines[4] == f"echo $? > {results}/status"
    monkeypatch.delenv("CI")
    assert "CI=" not in guest_script(KERNEL, ["true"], project, results)


def need_vng() -> None:
    if shutil.which("vng") is None and not (Path(sys.executable).parent / "vng").is_file():
        pytest.skip("virtme-ng is not installed (make test-vm installs it)")


def test_vng_command_shares_project_and_results(tmp_path: Path) -> None:
    need_vng()
    cmd = vng_command(KERNEL, Path("/p"), tmp_path, memory="1G", cpus=2)
    assert cmd[1:3] == ["--run", str(KERNEL.image)]
    for flag in ("--disable-kvm", "--force-9p"):
        assert flag in cmd
    pairs = list(itertools.pairwise(cmd))
    for pair in [("--cpus", "2"), ("--memory", "1G"), ("--user", "root"), ("--rwdir", "/p"),
                 ("--rwdir", str(tmp_path)), ("--cwd", "/p"),
                 ("--exec", f"sh {tmp_path}/run.sh")]:
        assert pair in pairs


def test_status_file(tmp_path: Path) -> None:
    status = tmp_path / "status"
    assert read_status(status) is None
    status.write_text("3\n")
    assert read_status(status) == 3
    status.write_text("")  # the guest died while writing
    assert read_status(status) is None


def test_overall_exit_status() -> None:
    def result(status: int | None) -> RunResult:
        return RunResult(KERNEL, status, 1.0, 1, None)

    assert exit_status([result(0), result(0)]) == 0
    assert exit_status([result(0), result(4), result(1)]) == 4
    assert exit_status([result(None), result(1)]) == NO_STATUS


def test_arguments() -> None:
    args = parse_args(["--kernel", "6.1", "--kernel", "6.12"])
    assert args.kernel == ["6.1", "6.12"] and args.command == DEFAULT_COMMAND
    args = parse_args(["--kernel", "6.1", "--", "uname", "-r"])
    assert args.command == ["uname", "-r"]
    with pytest.raises(SystemExit):
        parse_args(["uname"])  # --kernel is required
    with pytest.raises(SystemExit):
        parse_args(["--kernel", "6.1", "--cpus", "0"])


def test_kernel_specs(tmp_path: Path) -> None:
    with pytest.raises(VmTestError, match="unknown kernel '5.4'.*6.1, 6.12"):
        resolve("5.4", tmp_path)
    image = tmp_path / "bzImage"
    image.write_bytes(b"\0")
    assert resolve(str(image), tmp_path) == Kernel(str(image), image.resolve())


def test_cache_layout(tmp_path: Path) -> None:
    directory = tmp_path / "6.12"
    assert cached("6.12", directory) is None
    (directory / "root" / "boot").mkdir(parents=True)
    (directory / "release").write_text("6.12.57+deb13-amd64\n")
    assert cached("6.12", directory) is None  # marker without the image: not usable
    image = directory / "root" / "boot" / "vmlinuz-6.12.57+deb13-amd64"
    image.write_bytes(b"\0")
    assert cached("6.12", directory) == Kernel("6.12", image, "6.12.57+deb13-amd64")
    # resolve() uses the cache without touching apt
    assert resolve("6.12", tmp_path) == Kernel("6.12", image, "6.12.57+deb13-amd64")


def test_metapackage_resolution() -> None:
    show = ("Package: linux-image-amd64\nSource: linux-signed-amd64 (6.12.57+deb13)\n"
            "Version: 6.12.57-1\nDepends: linux-image-6.12.57+deb13-amd64 (= 6.12.57-1)\n")
    assert real_image_package(show) == "linux-image-6.12.57+deb13-amd64"
    old = "Package: linux-image-amd64\nDepends: linux-image-6.1.0-41-amd64 (= 6.1.158-1)\n"
    assert real_image_package(old) == "linux-image-6.1.0-41-amd64"
    with pytest.raises(VmTestError, match="without a linux-image-6.x dependency"):
        real_image_package("Package: linux-image-amd64\nDepends: linux-image-amd64-signed\n")


def test_modules_tree(tmp_path: Path) -> None:
    with pytest.raises(VmTestError, match="expected one kernel modules directory"):
        modules_dir(tmp_path)
    moddir = tmp_path / "usr" / "lib" / "modules" / "6.12.57+deb13-amd64"
    moddir.mkdir(parents=True)
    assert modules_dir(tmp_path) == moddir
    (moddir / "modules.dep").write_text(
        "kernel/drivers/net/veth.ko.xz:\n"
        "kernel/net/sched/cls_bpf.ko.xz: kernel/net/sched/sch_x.ko.xz\n")
    assert missing_modules(moddir) == ["sch_ingress"]
    (moddir / "modules.builtin").write_text("kernel/net/sched/sch_ingress.ko\n")
    assert missing_modules(moddir) == []


def test_mounts_and_the_cgroup_layout() -> None:
    text = ("sysfs /sys sysfs rw,nosuid 0 0\n"
            "tmpfs /sys/fs/cgroup tmpfs rw,mode=755 0 0\n"
            "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
            "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
            "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
            "bpf /sys/fs/bpf bpf rw 0 0\n"
            "tmpfs /sys/fs/cgroup2x tmpfs rw 0 0\n"
            "/dev/sda1 /mnt/with\\040space ext4 rw 0 0\n")
    mounts = read_mounts(text)
    assert mounts[-1] == Mount("/dev/sda1", "/mnt/with space", "ext4", "rw")
    assert [m.point for m in cgroup_layout(mounts)] == [
        "/sys/fs/cgroup", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]
    assert cgroup_layout(read_mounts(Path("/proc/self/mounts").read_text())) == cgroup_layout()


def test_named_v1_hierarchies_get_none() -> None:
    controllers = {"cpu", "memory", "pids"}
    assert v1_options("rw,relatime,name=systemd", controllers) == "rw,relatime,name=systemd,none"
    assert v1_options("rw,relatime,cpu", controllers) == "rw,relatime,cpu"
    assert v1_options("rw,cpu,name=both", controllers) == "rw,cpu,name=both"


@pytest.mark.parametrize("kind", ["missing", "hangs"])
def test_no_exit_status_is_retried_once_and_leaves_nothing(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No exit status -- virtme-ng refuses a missing image at once; qemu hangs on a file that
    is no kernel until the timeout kills it -- so the runner boots once more, reports
    ``None`` and removes its results directory."""
    import tempfile

    need_vng()
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(results))
    image = tmp_path / "not-a-kernel"
    if kind == "hangs":
        image.write_bytes(b"\0" * 4096)
    lines: list[str] = []
    start = time.monotonic()
    result = run_in_vm(Kernel("junk", image), ["true"], project=tmp_path, timeout=4,
                       echo=lines.append)
    assert result.status is None and result.attempts == 2 and result.summary is None
    assert lines.count("bpf4py.vmtest: no exit status from kernel junk; booting again") == 1
    assert os.listdir(results) == []
    assert time.monotonic() - start < 30


def test_kill_all_stops_running_guests_and_starts_no_more(tmp_path: Path) -> None:
    """What Ctrl-C / SIGTERM of the runner does: the hanging guest dies at once and its retry
    is refused, so no qemu outlives the runner."""
    import threading

    need_vng()
    image = tmp_path / "not-a-kernel"
    image.write_bytes(b"\0" * 4096)
    guests = Guests()
    lines: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_in_vm(Kernel("junk", image), ["true"], project=tmp_path, timeout=300,
                      echo=lines.append, guests=guests)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not any("qemu" in line or "warning" in line for line in lines):
        assert time.monotonic() < deadline, lines
        time.sleep(0.1)
    start = time.monotonic()
    guests.kill_all()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - start < 10
    assert len(errors) == 1 and isinstance(errors[0], VmTestError)
    assert "stopped" in str(errors[0])
