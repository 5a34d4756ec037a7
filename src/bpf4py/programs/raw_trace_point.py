"""RawTracePoint: run a program on a kernel tracepoint with its raw arguments."""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import ClassVar

from .._native import bpf as _bpf
from .._native import trace as _trace
from ..errors import ProgramError
from ..links import FdLink, LinkId
from ..types import ProgramType
from .base import Program
from .test_run import TestRunResult

#: The most arguments a raw tracepoint passes (the kernel's MAX_BPF_FUNC_ARGS).
MAX_ARGS = 12
_TEST_RUN_ON_CPU = 1  # BPF_F_TEST_RUN_ON_CPU


class RawTracePoint(Program):
    """A program attached to a kernel tracepoint that reads the tracepoint's raw arguments
    (``struct bpf_raw_tracepoint_args``: ``ctx->args[0..]``, e.g. for ``sys_enter`` the
    ``struct pt_regs *`` and the syscall number).

    Unlike a :class:`~bpf4py.programs.trace_point.TracePoint` it gets the arguments before the
    kernel formats them, which is cheaper.  ``attach`` returns a
    :class:`~bpf4py.links.LinkId`; ``detach(link_id)`` removes the attachment,
    ``take_link(link_id)`` hands it to you (a pinnable :class:`~bpf4py.links.FdLink`),
    ``unload()`` detaches what the program still tracks.

    Minimum kernel version: 4.17 (``test_run``: 5.10).

    Example::

        from bpf4py import Ebpf
        from bpf4py.programs.raw_trace_point import RawTracePoint

        ebpf = Ebpf.load_file("trace.bpf.o")
        prog = ebpf.program("count_syscalls", RawTracePoint)
        prog.load()
        link_id = prog.attach("sys_enter")
        ...
        prog.detach(link_id)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.RAW_TRACEPOINT
    MIN_KERNEL: ClassVar[str] = "4.17"

    def attach(self, tracepoint_name: str) -> LinkId:
        """Attach to the tracepoint ``tracepoint_name`` (without its category:
        ``"sys_enter"``, ``"sched_switch"``).

        Raises :class:`~bpf4py.errors.NotLoadedError` before ``load()`` and
        :class:`~bpf4py.errors.LinkError` (ENOENT) when the kernel has no such tracepoint.
        """
        prog_fd = self.fd
        if not isinstance(tracepoint_name, str) or not tracepoint_name:
            raise ProgramError(f"attaching {self.what}: the tracepoint name must be a "
                               f"non-empty str, got {tracepoint_name!r}")
        what = f"raw tracepoint {self.name!r} to {tracepoint_name}"
        return self._track(FdLink(_trace.raw_tracepoint_open(tracepoint_name, prog_fd, what),
                                  what))

    def test_run(self, args: Sequence[int] = (), *, cpu: int | None = None) -> TestRunResult:
        """Run the program once on ``args`` (its ``ctx->args``, at most 12 unsigned 64-bit
        values; negative ints are stored as two's complement), in this thread's task context,
        on CPU ``cpu`` (None: the current one).  Returns the program's return value in
        :attr:`TestRunResult.return_value` (the kernel reports no duration or output).

        Example::

            result = prog.test_run([1, 2, 3])
            assert result.return_value == 0
        """
        if isinstance(args, (str, bytes, bytearray, memoryview)) or not hasattr(args, "__len__"):
            raise TypeError(f"test_run of {self.what}: args must be a sequence of ints, got "
                            f"{type(args).__name__}")
        if len(args) > MAX_ARGS:
            raise ProgramError(f"test_run of {self.what}: a raw tracepoint has at most "
                               f"{MAX_ARGS} arguments, got {len(args)}")
        for a in args:
            if isinstance(a, bool) or not isinstance(a, int):
                raise TypeError(f"test_run of {self.what}: arguments must be ints, got "
                                f"{type(a).__name__}")
            if not -(1 << 63) <= a < 1 << 64:
                raise ProgramError(f"test_run of {self.what}: argument {a} does not fit in 64 "
                                   "bits")
        ctx = b"".join(a.to_bytes(8, sys.byteorder, signed=a < 0) for a in args)
        flags, on_cpu = (0, 0) if cpu is None else (_TEST_RUN_ON_CPU, cpu)
        try:
            raw = _bpf.prog_test_run(self.fd, self.what, None, 0, ctx or None, 0, 0, flags,
                                     on_cpu, 0)
        except ProgramError as exc:
            if exc.errno == errno.EINVAL:
                exc.hint = (f"the program may read more than the {len(args)} arguments given, "
                            "or cpu is not an online CPU")
            raise
        return TestRunResult(raw[0], raw[1], None, None)
