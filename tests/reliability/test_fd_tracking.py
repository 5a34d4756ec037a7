"""Debug fd tracking: after many cycles nothing bpf4py opened is still open."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

SCRIPT = """
import gc, os, sys
from bpf4py import Ebpf, HashMap, SocketFilter
from bpf4py._native.fd import open_fds, tracking_fds
assert tracking_fds()
data = open(sys.argv[1], "rb").read()
before = len(os.listdir("/proc/self/fd"))
for i in range(int(sys.argv[2])):
    with Ebpf.load(data, "cycle") as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        prog.info()
        with HashMap.create(4, 8, 4) as m:
            m[1] = 2
gc.collect()
leaked = open_fds()
assert not leaked, leaked
assert len(os.listdir("/proc/self/fd")) == before
print("ok", sys.argv[2])
"""


def test_tracker_reports_nothing_open(bpf_object: Callable[[str], Path]) -> None:
    cycles = os.environ.get("BPF4PY_FD_CYCLES", "2000")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bpf_object("packet_counter")), cycles],
        env={**os.environ, "BPF4PY_DEBUG_FDS": "1"}, capture_output=True, text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", cycles]


def test_tracker_sees_an_open_descriptor_with_its_stack() -> None:
    code = (
        "from bpf4py import HashMap\n"
        "from bpf4py._native.fd import open_fds\n"
        "m = HashMap.create(4, 4, 1, name='kept')\n"
        "(what, stack), = open_fds().values()\n"
        "assert what == \"map 'kept'\", what\n"
        "assert 'HashMap.create' in stack or 'create' in stack, stack\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "BPF4PY_DEBUG_FDS": "1"})
    assert proc.returncode == 0, proc.stderr
