"""Tracing attach points: raw tracepoints (``BPF_RAW_TRACEPOINT_OPEN``) and perf events of
tracepoints (``perf_event_open(2)``, C helper in csrc/trace.c)."""

from __future__ import annotations

import errno as E

from bpf4py.errors import LinkError

from ._lib import lib
from .check import c_str, check, fail_errno
from .fd import OwnedFd


def raw_tracepoint_open(name: str, prog_fd: int, what: str) -> OwnedFd:
    """Attach a raw tracepoint program to the tracepoint ``name``; the descriptor is the link."""
    ret = lib.bpf_raw_tracepoint_open(c_str(name, f"attaching {what}"), prog_fd)
    hint = None
    if ret == -E.ENOENT:
        hint = (f"the kernel has no tracepoint named {name!r} (raw tracepoints take the name "
                "without its category, e.g. 'sys_enter', 'sched_switch')")
    check(ret, LinkError, f"attaching {what}", hint)
    return OwnedFd(ret, f"link of {what}")


def perf_event_open_tracepoint(tp_id: int, what: str) -> OwnedFd:
    """A perf event on the tracepoint with id ``tp_id`` (from tracefs)."""
    fd = lib.bpf4py_perf_event_open_tracepoint(tp_id)
    if fd < 0:
        fail_errno(LinkError, f"opening a perf event for {what}",
                   "perf_event_open(2) on tracepoints needs root or CAP_PERFMON")
    return OwnedFd(fd, f"perf event of {what}")
