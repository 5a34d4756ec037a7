"""The one exception of the VM test runner."""

from __future__ import annotations


class VmTestError(RuntimeError):
    """A kernel could not be fetched or booted, or the runner was misused; the message says
    which step failed and how to fix it."""
