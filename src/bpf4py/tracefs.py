"""tracefs: where the kernel lists its tracepoints (and their ids, for ``perf_event_open``).

Example::

    from bpf4py.tracefs import ensure_tracefs, tracepoint_id
    root = ensure_tracefs()                       # "/sys/kernel/tracing", mounted if needed
    tp = tracepoint_id("syscalls", "sys_enter_getppid")
"""

from __future__ import annotations

import os

from ._native import fs as _fs
from .errors import BpfError, ProgramError
from ._native.fs import mounts

DEFAULT_TRACEFS = "/sys/kernel/tracing"


def tracefs_root() -> str | None:
    """Where tracefs is mounted (the default place first, then e.g.
    ``/sys/kernel/debug/tracing``); None when it is not mounted."""
    points = [point for point, kind in mounts() if kind == "tracefs"]
    if DEFAULT_TRACEFS in points:
        return DEFAULT_TRACEFS
    return points[0] if points else None


def ensure_tracefs(path: str = DEFAULT_TRACEFS) -> str:
    """A mounted tracefs: the one already mounted, else one mounted at ``path`` now.

    Raises PinError (a PermissionError without root) when mounting fails.
    """
    root = tracefs_root()
    if root is not None:
        return root
    _fs.mount("tracefs", path)
    if tracefs_root() is None:  # pragma: no cover - mount said yes but nothing is there
        raise BpfError(f"mounted tracefs at {path} but it does not show in /proc/self/mounts")
    return path


def tracepoint_id(category: str, name: str) -> int:
    """The id of tracepoint ``category/name`` (``events/<category>/<name>/id`` in tracefs).

    Raises ProgramError naming the tracepoint when there is no such tracepoint.
    """
    for part, label in ((category, "category"), (name, "name")):
        if not isinstance(part, str) or not part or "/" in part or "\0" in part \
                or part in (".", ".."):
            raise ProgramError(f"invalid tracepoint {label} {part!r} (expected e.g. "
                               "category 'syscalls', name 'sys_enter_getppid')")
    root = ensure_tracefs()
    path = os.path.join(root, "events", category, name, "id")
    try:
        with open(path) as f:
            return int(f.read())
    except FileNotFoundError:
        raise ProgramError(f"the kernel has no tracepoint {category}/{name} ({path} does not "
                           "exist)", hint=f"see {root}/available_events") from None
    except OSError as exc:
        raise ProgramError(f"reading the id of tracepoint {category}/{name} from {path}",
                           errno=exc.errno) from None
