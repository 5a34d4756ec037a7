"""Routes libbpf's print callback to ``logging.getLogger("bpf4py.libbpf")``.

The C helper formats the ``va_list`` and drops messages above the level this logger wants, so
libbpf's chatty debug output costs nothing unless DEBUG is enabled.  While a call runs inside
:func:`capture`, libbpf's warnings are collected too, so the exception for a failed call can
quote them.
"""

from __future__ import annotations

import logging
import threading

from ._lib import ffi, lib

logger = logging.getLogger("bpf4py.libbpf")
_LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)  # LIBBPF_WARN, _INFO, _DEBUG
_local = threading.local()
_max_level = -1


@ffi.def_extern()  # type: ignore[untyped-decorator]
def bpf4py_log(level: int, message: object) -> None:
    text = ffi.string(message).decode("utf-8", "replace").rstrip("\n")
    captured: list[str] | None = getattr(_local, "captured", None)
    if captured is not None and level == 0:
        captured.append(text)
        logger.debug("%s", text)
        return
    logger.log(_LEVELS[min(level, 2)], "%s", text)


def sync_level() -> None:
    """Tell the C side which libbpf levels the logger currently wants."""
    global _max_level
    if logger.isEnabledFor(logging.DEBUG):
        want = 2
    elif logger.isEnabledFor(logging.INFO):
        want = 1
    else:
        want = 0
    if want != _max_level:
        _max_level = want
        lib.bpf4py_set_print(want)


class capture:  # noqa: N801 - used like a function: ``with log.capture() as warnings``
    """Collect libbpf's warnings printed by this thread inside the block.

    A class rather than a generator context manager: it wraps every libbpf call that may
    fail (open, prepare, ...), so entering and leaving should cost two plain calls.
    """

    __slots__ = ("_lines", "_previous")

    def __enter__(self) -> list[str]:
        sync_level()
        self._previous: list[str] | None = getattr(_local, "captured", None)
        self._lines: list[str] = []
        _local.captured = self._lines
        return self._lines

    def __exit__(self, *exc: object) -> None:
        _local.captured = self._previous


sync_level()
