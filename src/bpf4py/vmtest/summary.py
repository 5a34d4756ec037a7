"""Per-kernel test summaries, parsed from pytest's JUnit XML, and the table printed at the end.

Example::

    from bpf4py.vmtest.summary import parse_junit
    summary = parse_junit("junit.xml")
    summary.passed, summary.failed, summary.skipped, summary.skip_reasons
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VmTestError


@dataclass
class Summary:
    """Counts of one pytest run; errors (setup/teardown) count as failures."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One kernel's line of the table: ``status`` None means the guest gave no exit status;
    ``summary`` None means the command wrote no JUnit XML."""

    kernel: str
    release: str
    status: int | None
    seconds: float
    summary: Summary | None


def parse_junit(path: str | Path) -> Summary:
    """Count the test cases of a pytest ``--junitxml`` file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise VmTestError(f"cannot read the JUnit XML {path}: {exc}") from None
    summary = Summary()
    for case in root.iter("testcase"):
        name = "::".join(x for x in (case.get("classname", ""), case.get("name", "")) if x)
        if case.find("failure") is not None or case.find("error") is not None:
            summary.failed += 1
            summary.failures.append(name)
        elif (skip := case.find("skipped")) is not None:
            summary.skipped += 1
            summary.skip_reasons[_skip_reason(skip)] += 1
        else:
            summary.passed += 1
    return summary


def _skip_reason(skip: ET.Element) -> str:
    reason = skip.get("message") or (skip.text or "").strip() or "no reason given"
    return reason.removeprefix("Skipped: ")


def format_table(rows: list[Row]) -> str:
    """The per-kernel table (kernel, release, exit status, passed, failed, skipped, time),
    then the skip reasons and failed tests of each kernel."""
    header = ("kernel", "release", "status", "passed", "failed", "skipped", "time")
    cells = [header]
    for row in rows:
        s = row.summary
        counts = (str(s.passed), str(s.failed), str(s.skipped)) if s else ("-", "-", "-")
        status = "no exit" if row.status is None else str(row.status)
        cells.append((row.kernel, row.release, status, *counts, f"{row.seconds:.0f}s"))
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    for row in rows:
        if row.summary is None:
            lines.append(f"{row.kernel}: no pytest results (the command wrote no JUnit XML)")
            continue
        if row.summary.skip_reasons:
            lines.append(f"skipped on {row.kernel}:")
            lines += [f"  {n:3d}  {reason}"
                      for reason, n in sorted(row.summary.skip_reasons.items())]
        if row.summary.failures:
            lines.append(f"failed on {row.kernel}:")
            lines += [f"  {name}" for name in row.summary.failures]
    return "\n".join(lines)
