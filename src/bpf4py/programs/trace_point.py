"""TracePoint: run a program on a kernel tracepoint, with the tracepoint's formatted record."""

from __future__ import annotations

import errno
from typing import ClassVar

from .._native import bpf as _bpf
from .._native import trace as _trace
from ..errors import LinkError
from ..links import FdLink, LinkId
from ..tracefs import tracepoint_id
from ..types import AttachType, ProgramType
from .base import Program


class TracePoint(Program):
    """A program attached to a kernel tracepoint (``tracepoint/<category>/<name>`` sections).

    The program's context is the tracepoint's record as tracefs describes it in
    ``events/<category>/<name>/format``.  ``attach`` finds the tracepoint's id in tracefs
    (mounting tracefs at ``/sys/kernel/tracing`` when it is not mounted), opens a perf event on
    it and attaches the program with a BPF link (``BPF_LINK_CREATE`` with ``BPF_PERF_EVENT``,
    Linux 5.15); the link holds the perf event.  ``detach(link_id)`` removes the attachment,
    ``take_link(link_id)`` hands it to you, ``unload()`` detaches what the program still
    tracks.

    Minimum kernel version: 4.7 (attaching through a BPF link: 5.15).

    Example::

        from bpf4py import Ebpf
        from bpf4py.programs.trace_point import TracePoint

        ebpf = Ebpf.load_file("trace.bpf.o")
        prog = ebpf.program("record_tgid", TracePoint)
        prog.load()
        link_id = prog.attach("syscalls", "sys_enter_getppid")
        ...
        prog.detach(link_id)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.TRACEPOINT
    MIN_KERNEL: ClassVar[str] = "4.7"

    def attach(self, category: str, name: str) -> LinkId:
        """Attach to tracepoint ``category/name`` (e.g. ``"sched", "sched_switch"``).

        Raises :class:`~bpf4py.errors.NotLoadedError` before ``load()``,
        :class:`~bpf4py.errors.ProgramError` when the kernel has no such tracepoint and
        :class:`~bpf4py.errors.LinkError` when the kernel refuses the attachment (EEXIST: a
        program is attached at most once per tracepoint).
        """
        prog_fd = self.fd
        tp_id = tracepoint_id(category, name)
        what = f"tracepoint {self.name!r} to {category}/{name}"
        # The link takes its own reference to the perf event: ours can go right away.
        with _trace.perf_event_open_tracepoint(tp_id, what) as event:
            try:
                link_fd = _bpf.link_create(prog_fd, event.fd, AttachType.PERF_EVENT, 0, what)
            except LinkError as exc:
                if exc.errno == errno.EEXIST:
                    exc.hint = "the program is already attached to this tracepoint"
                raise
        return self._track(FdLink(link_fd, what))
