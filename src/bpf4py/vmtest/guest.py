"""Guest-side set-up, run inside the VM before the command: the file systems eBPF tests use.

``python -m bpf4py.vmtest.guest LAYOUT.json`` (the runner does this) mounts bpffs, tracefs
and debugfs where they are missing, gives the guest the host's cgroup layout (the mounts under
/sys/fs/cgroup that the runner recorded in LAYOUT.json with :func:`cgroup_layout`, so that
tests see the paths they see on the host) and loads the modules the tests need.

Example (on the host)::

    from bpf4py.vmtest.guest import cgroup_layout
    cgroup_layout()   # [Mount("tmpfs", "/sys/fs/cgroup", "tmpfs", "rw,..."), Mount(..."cgroup2")]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bpf4py.errors import BpfError
from bpf4py.fs import ensure_bpffs, fs_type

from .errors import VmTestError
from .kernels import REQUIRED_MODULES

CGROUP_ROOT = "/sys/fs/cgroup"
PSEUDO_FS = {"/sys/kernel/tracing": "tracefs", "/sys/kernel/debug": "debugfs"}


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mounts."""

    source: str
    point: str
    fstype: str
    options: str


def read_mounts(text: str) -> list[Mount]:
    """Parse /proc/self/mounts (octal escapes such as ``\\040`` decoded)."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            source, point, fstype, options = (_unescape(p) for p in parts[:4])
            found.append(Mount(source, point, fstype, options))
    return found


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def cgroup_layout(mounts: list[Mount] | None = None) -> list[Mount]:
    """The cgroup file systems (and the tmpfs holding them) mounted on and under
    /sys/fs/cgroup, in mount order."""
    if mounts is None:
        mounts = read_mounts(Path("/proc/self/mounts").read_text())
    return [m for m in mounts if m.fstype in ("tmpfs", "cgroup", "cgroup2")
            and (m.point == CGROUP_ROOT or m.point.startswith(CGROUP_ROOT + "/"))]


def _same(a: list[Mount], b: list[Mount]) -> bool:
    return [(m.point, m.fstype) for m in a] == [(m.point, m.fstype) for m in b]


def apply_cgroup_layout(wanted: list[Mount]) -> None:
    """Replace the guest's cgroup mounts with ``wanted`` (nothing to do when they match)."""
    current = cgroup_layout()
    if not wanted or _same(current, wanted):
        return
    for m in reversed(current):
        _command(["umount", m.point], f"unmounting {m.fstype} at {m.point}")
    controllers = _controllers()
    for m in wanted:
        options = v1_options(m.options, controllers) if m.fstype == "cgroup" else m.options
        Path(m.point).mkdir(parents=True, exist_ok=True)
        try:
            _command(["mount", "-t", m.fstype, "-o", options, m.source, m.point],
                     f"mounting {m.fstype} ({options}) at {m.point}")
        except VmTestError:
            if m.fstype != "cgroup":
                raise
            # Newer kernels may be built without a v1 controller (CONFIG_CPUSETS_V1=n, ...).
            Path(m.point).rmdir()
            print(f"bpf4py.vmtest: the host's cgroup v1 hierarchy {m.point} ({options}) is "
                  "left out: this kernel cannot mount it", file=sys.stderr)


def v1_options(options: str, controllers: set[str]) -> str:
    """Mount options for a cgroup v1 hierarchy as /proc/self/mounts shows them, plus the
    ``none`` that a named hierarchy without controllers needs (the kernel does not show it)."""
    names = options.split(",")
    if any(n.startswith("name=") for n in names) and not controllers.intersection(names):
        names.append("none")
    return ",".join(names)


def _controllers() -> set[str]:
    lines = Path("/proc/cgroups").read_text().splitlines()
    return {line.split()[0] for line in lines if line and not line.startswith("#")}


def setup(wanted_cgroups: list[Mount]) -> None:
    """Everything the guest needs before the tests run (see the module docstring)."""
    ensure_bpffs()
    for point, kind in PSEUDO_FS.items():
        if fs_type(point) != kind:
            _command(["mount", "-t", kind, kind, point], f"mounting {kind} at {point}")
    apply_cgroup_layout(wanted_cgroups)
    _command(["modprobe", "-a", *REQUIRED_MODULES], f"modprobe {' '.join(REQUIRED_MODULES)}")


def write_layout(path: Path) -> None:
    """Record the host's cgroup layout for :func:`main` in the guest."""
    path.write_text(json.dumps([asdict(m) for m in cgroup_layout()]))


def _command(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VmTestError(f"guest set-up: {what} failed: {proc.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    wanted = [Mount(**m) for m in json.loads(Path(args[0]).read_text())] if args else []
    try:
        setup(wanted)
    except (VmTestError, BpfError) as exc:
        print(f"bpf4py.vmtest: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
