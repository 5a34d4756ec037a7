"""Kernel feature gates for tests: skip where the kernel is too old, fail where it is not.

A test (or fixture) that needs a feature some supported kernels lack is decorated with
``@requires(FEATURE)`` or calls ``require(FEATURE)``::

    from tests.kernel_features import SOCKMAP_LINKS, requires

    @requires(SOCKMAP_LINKS)
    def test_pinned_link_survives(...): ...

The rule is cilium/ebpf's ``SkipIfNotSupported``: probe first, compare versions second.  The
probe says supported -> the test runs.  It says unsupported on a kernel older than the
feature's version -> the test skips with ``needs Linux X (feature); running R``.  It says
unsupported on a kernel that should have the feature -> the test FAILS: a broken probe, a
regression or a kernel built without the feature must not hide behind a skip.
"""

from __future__ import annotations

import errno
import functools
import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from bpf4py import Ebpf
from bpf4py._native import bpf as native
from bpf4py.features import parse_version
from bpf4py.clang import compile_program
from bpf4py.errors import LinkError, ProgramError
from bpf4py.maps.sock import SockMap
from bpf4py.programs.cgroup_skb import CgroupSkb
from bpf4py.programs.raw_trace_point import RawTracePoint
from bpf4py.programs.sk_skb import SkSkb
from bpf4py.types import AttachType, MapType
from tests.conftest import BPF_BUILD, BPF_SRC

# Every version-justified skip starts with this (tests/conftest.py lets these through under
# CI=true inside the VM runner, where BPF4PY_VM_KERNEL is set).
SKIP_PREFIX = "needs Linux "

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)
class Feature:
    """A kernel feature: what it is, the first Linux version with it, and a probe that
    returns whether the running kernel has it (and raises on anything unexpected)."""

    name: str
    min_version: str
    probe: Callable[[], bool]


@functools.cache
def supported(feature: Feature) -> bool:
    """The feature's probe result (probed once per process)."""
    return feature.probe()


def require(feature: Feature, release: str | None = None) -> None:
    """Return when the kernel has ``feature``; else skip (kernel too old) or fail."""
    if supported(feature):
        return
    release = release or os.uname().release
    if parse_version(release) < parse_version(feature.min_version):
        pytest.skip(f"{SKIP_PREFIX}{feature.min_version} ({feature.name}); running {release}")
    pytest.fail(f"Linux {release} should have {feature.name} (since {feature.min_version}) "
                "but the probe says it has not")


def requires(feature: Feature) -> Callable[[F], F]:
    """Decorator form of :func:`require` for tests and fixtures (also generator fixtures):
    the check runs before the body, after pytest has resolved the arguments."""

    def decorate(fn: F) -> F:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
                require(feature)
                yield from fn(*args, **kwargs)

            return gen  # type: ignore[return-value]

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            require(feature)
            return fn(*args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate


# --- probes: the smallest program of tests/bpf/feature_probes.bpf.c that shows the feature ---


@contextmanager
def _probes() -> Iterator[Ebpf]:
    src = BPF_SRC / "feature_probes.bpf.c"
    obj = compile_program(src, BPF_BUILD / "feature_probes.bpf.o", vmlinux_dir=BPF_BUILD)
    with Ebpf.load_file(obj) as ebpf:
        yield ebpf


def _sockmap_links() -> bool:
    with _probes() as ebpf:
        prog = ebpf.program("probe_sk_skb", SkSkb)
        prog.load()
        sockmap = ebpf.map("PROBE_SOCKMAP", SockMap)
        try:
            native.link_create(prog.fd, sockmap.fd, AttachType.SK_SKB_STREAM_VERDICT, 0,
                               "the sockmap link probe").close()
        except LinkError as exc:
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                return False
            raise
        return True


def _raw_tracepoint_twice() -> bool:
    with _probes() as ebpf:
        prog = ebpf.program("probe_raw_tp", RawTracePoint)
        prog.load()
        try:
            prog.attach("sys_enter")
            prog.attach("sys_enter")
        except LinkError as exc:
            if exc.errno == errno.EEXIST:
                return False
            raise
        finally:
            prog.unload()
        return True


def _task_under_cgroup_in_cgroup_programs() -> bool:
    with _probes() as ebpf:
        prog = ebpf.program("probe_task_under_cgroup", CgroupSkb)
        try:
            prog.load()
        except ProgramError as exc:
            log = exc.verifier_log or ""
            # Older kernels do not know the helper in this program type at all; newer ones
            # know it and say this program type may not call it.
            if "unknown func" in log or "cannot use helper" in log:
                return False
            raise
        return True


SOCKMAP_LINKS = Feature("BPF links for sockmap/sockhash programs", "6.10", _sockmap_links)
RAW_TRACEPOINT_TWICE = Feature("one program attached twice to a raw tracepoint", "6.10",
                               _raw_tracepoint_twice)
CGROUP_STORAGE = Feature("cgroup local storage maps (BPF_MAP_TYPE_CGRP_STORAGE)", "6.2",
                         lambda: native.probe_map_type(MapType.CGRP_STORAGE))
ARENA = Feature("arena maps (BPF_MAP_TYPE_ARENA)", "6.9",
                lambda: native.probe_map_type(MapType.ARENA))
TASK_UNDER_CGROUP_IN_CGROUP_PROGRAMS = Feature(
    "bpf_current_task_under_cgroup() in cgroup_skb programs", "6.16",
    _task_under_cgroup_in_cgroup_programs)
