"""Boot a kernel under qemu with virtme-ng and run one command in it as root.

The guest sees the host's root file system read-only (over 9p), the project directory and a
per-run results directory read-write, and runs ``sh RESULTS/run.sh``: guest set-up
(:mod:`bpf4py.vmtest.guest`), the command, then its exit status written to RESULTS/status.
A boot that leaves no status (an early panic, a hang past the timeout) is retried once.
qemu runs without KVM (``--disable-kvm``: the /dev/kvm of these machines does not work), on
two vCPUs by default because the per-CPU tests need two CPUs (6.12 on two emulated vCPUs
panics early in a few boots out of a hundred: the retry covers that).

Example::

    from bpf4py.vmtest.kernels import resolve
    from bpf4py.vmtest.runner import run_in_vm
    result = run_in_vm(resolve("6.12"), ["uname", "-r"], project=Path("."))
    result.status     # 0
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import guest
from .errors import VmTestError
from .kernels import Kernel
from .summary import Summary, parse_junit

DEFAULT_TIMEOUT = 1800.0
DEFAULT_MEMORY = "2G"
DEFAULT_CPUS = 2
ENV_KERNEL = "BPF4PY_VM_KERNEL"


@dataclass(frozen=True)
class RunResult:
    """What one kernel's run gave: ``status`` None when no boot produced an exit status;
    ``summary`` None when the command wrote no JUnit XML."""

    kernel: Kernel
    status: int | None
    seconds: float
    attempts: int
    summary: Summary | None


def is_pytest(command: list[str]) -> bool:
    """``pytest ...``, ``.../pytest ...`` or ``python -m pytest ...``."""
    if not command:
        return False
    if os.path.basename(command[0]) in ("pytest", "py.test"):
        return True
    return any(a == "-m" and b == "pytest" for a, b in itertools.pairwise(command))


def with_junit(command: list[str], junit: Path) -> list[str]:
    """A pytest command gets ``-rs --junitxml=JUNIT`` (the summary is parsed from it); any
    other command is left as it is."""
    if not is_pytest(command):
        return command
    return [*command, "-rs", f"--junitxml={junit}"]


def guest_script(kernel: Kernel, command: list[str], project: Path, results: Path,
                 python: str = sys.executable) -> str:
    """The shell script the guest runs: environment, set-up, command, status file.

    ``BPF4PY_VM_KERNEL`` tells the tests they run in a VM; ``CI`` is passed on from the host
    (the guest starts with an empty environment)."""
    exports = [f"{ENV_KERNEL}={shlex.quote(kernel.name)}",
               f"PATH={shlex.quote(os.path.dirname(python))}:$PATH"]
    if "CI" in os.environ:
        exports.append(f"CI={shlex.quote(os.environ['CI'])}")
    setup = shlex.join([python, "-m", "bpf4py.vmtest.guest", str(results / "cgroups.json")])
    return "\n".join([
        "#!/bin/sh",
        f"export {' '.join(exports)}",
        f"cd {shlex.quote(str(project))} || exit 1",
        f"{setup} && {shlex.join(with_junit(command, results / 'junit.xml'))}",
        f"echo $? > {shlex.quote(str(results / 'status'))}",
        "",
    ])


def vng_command(kernel: Kernel, project: Path, results: Path, *,
                memory: str = DEFAULT_MEMORY, cpus: int = DEFAULT_CPUS) -> list[str]:
    """The virtme-ng command line that boots ``kernel`` and runs RESULTS/run.sh."""
    return [
        _vng(), "--run", str(kernel.image), "--disable-kvm", "--force-9p", "--cpus", str(cpus),
        "--memory", memory, "--user", "root", "--rwdir", str(project), "--rwdir", str(results),
        "--cwd", str(project), "--exec", f"sh {shlex.quote(str(results / 'run.sh'))}",
    ]


def _vng() -> str:
    beside = Path(sys.executable).parent / "vng"
    found = str(beside) if beside.is_file() else shutil.which("vng")
    if found is None:
        raise VmTestError("virtme-ng is not installed: pip install virtme-ng "
                          "(make test-vm installs it into .venv)")
    return found


class Guests:
    """The guests one runner process has started, so that all of them can be killed at once
    (Ctrl-C, SIGTERM): after :meth:`kill_all` no new guest starts."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._stopped:
                raise VmTestError("stopped: no more guests are started")
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
            self._procs.add(proc)
            return proc

    def finished(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc)


def boot(cmd: list[str], *, timeout: float, echo: Callable[[str], None],
         guests: Guests | None = None) -> int:
    """Run virtme-ng, passing each line of its output to ``echo`` (read through a pipe:
    redirected to a file, virtme-ng loses lines); kill it (virtme-ng, qemu and all, one
    session) after ``timeout`` seconds."""
    guests = guests or Guests()
    env = dict(os.environ, PATH=f"{Path(cmd[0]).parent}:{os.environ.get('PATH', '')}")
    proc = guests.start(cmd, env)
    assert proc.stdout is not None
    output = proc.stdout
    timer = threading.Timer(timeout, _kill_group, (proc,))
    timer.start()
    try:
        for raw in output:
            echo(raw.decode(errors="replace").rstrip("\r\n"))
        return proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
        output.close()
        guests.finished(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_in_vm(kernel: Kernel, command: list[str], *, project: Path,
              timeout: float = DEFAULT_TIMEOUT, memory: str = DEFAULT_MEMORY,
              cpus: int = DEFAULT_CPUS, echo: Callable[[str], None] = print,
              keep: bool = False, guests: Guests | None = None) -> RunResult:
    """Boot ``kernel``, run ``command`` in ``project`` as root, and return its exit status
    and (for pytest) the parsed summary.  The results directory is removed unless ``keep``;
    ``guests`` collects the running guests for the caller's clean-up."""
    project = project.resolve()
    results = Path(tempfile.mkdtemp(prefix=f"bpf4py-vmtest-{Path(kernel.name).name}-"))
    try:
        guest.write_layout(results / "cgroups.json")
        (results / "run.sh").write_text(guest_script(kernel, command, project, results))
        cmd = vng_command(kernel, project, results, memory=memory, cpus=cpus)
        start = time.monotonic()
        status, attempts = None, 0
        while status is None and attempts < 2:
            attempts += 1
            if attempts > 1:
                echo(f"bpf4py.vmtest: no exit status from kernel {kernel.name}; booting again")
            boot(cmd, timeout=timeout, echo=echo, guests=guests)
            status = read_status(results / "status")
        junit = results / "junit.xml"
        summary = parse_junit(junit) if junit.is_file() else None
        return RunResult(kernel, status, time.monotonic() - start, attempts, summary)
    finally:
        if keep:
            echo(f"bpf4py.vmtest: results of kernel {kernel.name} kept in {results}")
        else:
            shutil.rmtree(results, ignore_errors=True)


def read_status(path: Path) -> int | None:
    """The exit status the guest wrote, or None when there is none (or it is garbled)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
