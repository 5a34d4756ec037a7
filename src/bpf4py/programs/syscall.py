"""Syscall: a program user space runs on demand, with a context it passes in and reads back."""

from __future__ import annotations

import errno
from typing import ClassVar

from .._native import bpf as _bpf
from ..errors import ProgramError
from ..types import ProgramType
from .base import Program
from .test_run import TestRunResult

#: The largest context the kernel copies in and back (U16_MAX).
MAX_CONTEXT = 0xFFFF


class Syscall(Program):
    """A program (``SEC("syscall")``) that is attached to nothing: user space runs it with
    :meth:`test_run`, passing a context struct of its own design that the program can change.
    It is always sleepable, so it may call sleepable helpers and kfuncs
    (``bpf_sys_bpf``, ``bpf_arena_alloc_pages``, ...), e.g. to set up maps or an arena.

    Minimum kernel version: 5.14.

    Example::

        from bpf4py import Ebpf, Syscall

        ebpf = Ebpf.load_file("setup.bpf.o")
        prog = ebpf.program("init", Syscall)
        prog.load()
        result = prog.test_run((42).to_bytes(8, "little"))
        assert result.return_value == 0
        print(result.ctx_out)  # the context as the program left it
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.SYSCALL
    MIN_KERNEL: ClassVar[str] = "5.14"

    def test_run(self, ctx: bytes | bytearray | memoryview | None = None) -> TestRunResult:
        """Run the program once, in this thread, on a copy of ``ctx`` (any buffer of at most
        65535 bytes, or None for no context).  Returns the program's return value, and in
        :attr:`TestRunResult.ctx_out` the context after the run (None without one); the
        kernel reports no duration.

        Example::

            result = prog.test_run(bytes(16))
            assert len(result.ctx_out) == 16
        """
        try:
            buf = bytearray(memoryview(ctx)) if ctx is not None else None  # the kernel writes it
        except TypeError:
            raise TypeError(f"test_run of {self.what}: the context must be bytes or another "
                            f"buffer, got {type(ctx).__name__}") from None
        if buf is not None and len(buf) > MAX_CONTEXT:
            raise ProgramError(f"test_run of {self.what}: a context is at most {MAX_CONTEXT} "
                               f"bytes, got {len(buf)}", errno=errno.E2BIG)
        raw = _bpf.prog_test_run(self.fd, self.what, None, 0, buf or None, 0, 0, 0, 0, 0)
        return TestRunResult(raw[0], 0, None, bytes(buf) if buf is not None else None)
