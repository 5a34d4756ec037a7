"""The ``vm`` marker: tests that boot a kernel under qemu (run by ``make test-vm``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vm: boots a kernel under qemu (make test-vm)")
