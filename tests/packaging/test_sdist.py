"""The sdist carries libbpf's verified source and builds with no network at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging


def test_sdist_builds_and_installs_without_network(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to cut the network")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    sdist = next((tmp_path / "dist").glob("bpf4py-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = names[0].split("/")[0]
    assert f"{top}/libbpf/source/src/libbpf.c" in names
    assert f"{top}/libbpf/source/.bpf4py-pin" in names
    assert f"{top}/libbpf/VERSION" in names
    assert not [n for n in names if "/libbpf/build/" in n or n.endswith(".so")]
    target = tmp_path / "site"
    # A new network namespace has no interfaces up: any download would fail.
    install = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "pip", "install", "--no-index",
         "--no-deps", "--no-build-isolation", "--target", str(target), str(sdist)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [sys.executable, "-c",
         "import bpf4py, bpf4py._libbpf as m; print(bpf4py.__file__); "
         "print(m.ffi.string(m.lib.libbpf_version_string()).decode())"],
        env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr
    path, version = check.stdout.split()
    assert path.startswith(str(target)) and version == "v1.7"
