"""Lazy loading of the program and map families.

``bpf4py.programs`` and ``bpf4py.maps`` hold one module per family; every class registers its
kernel type when its module is imported.  Importing every family at ``import bpf4py`` would
make the import slow as families grow, so a :class:`Family` imports them on first need: when
the loader builds an object's programs and maps, or when a name such as
``bpf4py.SockMap`` is first looked up.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType


class Family:
    """Every module of one package, imported once, on demand."""

    def __init__(self, package: str, path: Iterable[str]) -> None:
        self._package = package
        self._path = list(path)
        self._modules: list[ModuleType] | None = None

    def load_all(self) -> list[ModuleType]:
        """Import every module of the package (once); return them."""
        if self._modules is None:
            self._modules = [importlib.import_module(f"{self._package}.{info.name}")
                             for info in pkgutil.iter_modules(self._path)
                             if not info.name.startswith("_")]
        return self._modules

    def attr(self, name: str) -> object:
        """The public attribute ``name`` of whichever module defines it."""
        if not name.startswith("_"):
            for module in self.load_all():
                if name in getattr(module, "__dict__", {}):
                    return module.__dict__[name]
        raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
