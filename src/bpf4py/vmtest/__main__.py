"""``python -m bpf4py.vmtest --kernel VERSION|PATH [--kernel ...] [-- COMMAND...]``

Boots each kernel under qemu (see :mod:`bpf4py.vmtest`), runs COMMAND in the project
directory as root (by default the kernel test suite), echoes the guest's output prefixed with
the kernel, and prints a table per kernel at the end.  Exit status: 0 when the command
succeeded on every kernel, else the first failing kernel's status (125 when a kernel gave no
exit status at all, 2 when a kernel could not be fetched or booted).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import VmTestError
from .kernels import DEBIAN_RELEASES, Kernel, resolve
from .prebuild import build_test_objects
from .runner import (
    DEFAULT_CPUS,
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Guests,
    RunResult,
    run_in_vm,
)
from .summary import Row, format_table

DEFAULT_COMMAND = [".venv/bin/python", "-m", "pytest", "-q", "tests/kernel", "tests/reliability"]
NO_STATUS = 125
_print_lock = threading.Lock()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bpf4py.vmtest",
        description="Run a command (by default the kernel test suite) as root under other "
                    "kernels, booted with qemu (virtme-ng); print a summary per kernel.")
    parser.add_argument("--kernel", action="append", required=True, metavar="VERSION|PATH",
                        help=f"a Debian kernel series ({', '.join(DEBIAN_RELEASES)}: "
                             "downloaded once into ~/.cache/bpf4py/kernels) or the path of a "
                             "kernel image; repeat for several kernels")
    parser.add_argument("--project", type=Path, default=Path.cwd(),
                        help="the directory shared read-write with the guest and where the "
                             "command runs (default: the current directory)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds before a guest is killed (default %(default)s)")
    parser.add_argument("--memory", default=DEFAULT_MEMORY, help="guest memory (qemu -m)")
    parser.add_argument("--cpus", type=int, default=DEFAULT_CPUS,
                        help="guest vCPUs (default %(default)s: some tests need two CPUs)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="kernels booted at the same time (default 1: emulated vCPUs "
                             "that outnumber the host's cores slow every guest down badly)")
    parser.add_argument("--refresh", action="store_true",
                        help="download the Debian kernels again (newest of their release)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each run's results directory (run.sh, junit.xml, status)")
    parser.add_argument("--no-prebuild", dest="prebuild", action="store_false",
                        help="do not compile the project's BPF test objects on the host first")
    parser.add_argument("command", nargs="*", metavar="-- COMMAND",
                        help="what to run in the guest (default: "
                             f"{' '.join(DEFAULT_COMMAND)})")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.cpus < 1:
        parser.error("--jobs and --cpus must be at least 1")
    args.command = args.command or DEFAULT_COMMAND
    return args


def exit_status(results: list[RunResult]) -> int:
    """0 when every kernel's command succeeded, else the first failure's status."""
    for result in results:
        if result.status != 0:
            return NO_STATUS if result.status is None else result.status
    return 0


def _echo_for(kernel: Kernel, prefixed: bool) -> Callable[[str], None]:
    def echo(line: str) -> None:
        with _print_lock:
            print(f"[{kernel.name}] {line}" if prefixed else line, flush=True)

    return echo


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    guests = Guests()
    try:
        kernels = [resolve(spec, refresh=args.refresh) for spec in args.kernel]
        if args.prebuild:
            build_test_objects(args.project.resolve())

        def run(kernel: Kernel) -> RunResult:
            return run_in_vm(kernel, args.command, project=args.project, timeout=args.timeout,
                             memory=args.memory, cpus=args.cpus, keep=args.keep,
                             echo=_echo_for(kernel, len(kernels) > 1), guests=guests)

        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                try:
                    results = list(pool.map(run, kernels))
                except BaseException:  # Ctrl-C, SIGTERM: no guest outlives the runner
                    guests.kill_all()
                    raise
        finally:
            signal.signal(signal.SIGTERM, previous)
    except VmTestError as exc:
        print(f"bpf4py.vmtest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bpf4py.vmtest: interrupted; the guests were killed", file=sys.stderr)
        return 130
    print(format_table([Row(r.kernel.name, r.kernel.release or r.kernel.image.name, r.status,
                            r.seconds, r.summary) for r in results]))
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
