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
import gc, os, socket, sys
from bpf4py import Ebpf, HashMap, RawTracePoint, RingBuf, SocketFilter
from bpf4py._native.fd import open_fds, tracking_fds
assert tracking_fds()
counter = open(sys.argv[1], "rb").read()
tracer = open(sys.argv[2], "rb").read()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
before = len(os.listdir("/proc/self/fd"))
for i in range(int(sys.argv[3])):
    with Ebpf.load(counter, "cycle") as ebpf:
        prog = ebpf.program("count_packets", SocketFilter)
        prog.load()
        prog.attach(sock)
        SocketFilter.detach(sock)
        prog.info()
        ebpf.map("COUNTS")[i % 256] = bytes(16)
    with HashMap.create(4, 8, 4) as m, RingBuf.create(0, 0, 4096) as ring:
        m[1] = 2
        ring.poll(timeout=0)
    if i % 100:  # tracing links detach through an RCU grace period: every 100th cycle
        continue
    with Ebpf.load(tracer, "tracer") as ebpf:
        tp = ebpf.program("count_getppid", RawTracePoint)
        tp.load()
        with tp.take_link(tp.attach("sys_enter")):
            os.getppid()
        tp.detach(tp.attach("sys_enter"))
gc.collect()
leaked = open_fds()
assert not leaked, leaked
assert len(os.listdir("/proc/self/fd")) == before
print("ok", sys.argv[3])
"""


def test_tracker_reports_nothing_open(bpf_object: Callable[[str], Path]) -> None:
    # 10,000 on the host; under software emulation in the VM runner, 1,000.
    default = "1000" if os.environ.get("BPF4PY_VM_KERNEL") else "10000"
    cycles = os.environ.get("BPF4PY_FD_CYCLES", default)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bpf_object("packet_counter")),
         str(bpf_object("trace_raw_tp")), cycles],
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
