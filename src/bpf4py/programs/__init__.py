"""Program families, one module each.

Every module of this package is imported here, and every Program subclass that sets
``PROGRAM_TYPE`` registers itself, so ``PROGRAM_CLASSES`` (kernel program type -> class the
loader builds) needs no list kept by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..types import ProgramType
from .base import PROGRAM_CLASSES, Program
from .cgroup import CgroupAttachMode
from .cgroup_skb import CgroupSkb, CgroupSkbAttachType
from .sk_msg import SkMsg
from .sk_skb import SkSkb, SkSkbKind
from .socket_filter import SocketFilter
from .test_run import TestRunOptions, TestRunResult

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "PROGRAM_CLASSES",
    "CgroupAttachMode",
    "CgroupSkb",
    "CgroupSkbAttachType",
    "Program",
    "ProgramType",
    "SkMsg",
    "SkSkb",
    "SkSkbKind",
    "SocketFilter",
    "TestRunOptions",
    "TestRunResult",
]
