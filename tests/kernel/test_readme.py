"""The README's Python example runs as written and prints what it says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) <= 15
    script = tmp_path / "example.py"
    script.write_text(code.group(1).replace("/tmp/counter.bpf.o", str(tmp_path / "c.bpf.o")))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{17: (1, 10)}"
