"""The README's demo runs end to end and shows live counts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_counts_live_traffic() -> None:
    proc = subprocess.run([sys.executable, "-m", "bpf4py.demo", "--seconds", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    last = [line for line in out.splitlines() if "after" in line][-1]
    for proto in ("UDP", "TCP", "ICMP"):
        match = re.search(rf"{proto}:\s+(\d+) pkts\s+(\d+) B", last)
        assert match and int(match.group(1)) > 0 and int(match.group(2)) > 0, last
    assert "filter attached: sent 5 datagrams, received 0" in out
    assert "filter detached: sent 5 datagrams, received 5" in out
    assert "datagrams dropped by the program: 5" in out


def test_demo_compiles_elsewhere_when_the_cache_is_read_only(tmp_path: Path) -> None:
    """As in a VM that shares the host's root file system read-only."""
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    script = (f"mount -t tmpfs -o ro none {cache} && "
              f"XDG_CACHE_HOME={cache} exec {sys.executable} -m bpf4py.demo --seconds 0.2")
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "filter detached: sent 5 datagrams, received 5" in proc.stdout
