"""OwnedFd: one owner, idempotent close, GC as a safety net, clear errors once closed."""

from __future__ import annotations

import gc
import os
import socket

import pytest

from bpf4py.errors import ClosedError
from bpf4py._native.fd import OwnedFd, raw_fd


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def test_close_is_idempotent_and_use_after_close_raises() -> None:
    r, w = os.pipe()
    os.close(w)
    owned = OwnedFd(r, "pipe 'r'")
    assert owned.fd == r and owned.fileno() == r and not owned.closed
    owned.close()
    owned.close()
    assert owned.closed and not is_open(r)
    with pytest.raises(ClosedError, match="pipe 'r' is closed"):
        owned.fd


def test_context_manager_and_dup() -> None:
    r, w = os.pipe()
    os.close(w)
    with OwnedFd(r, "pipe") as owned:
        dup = owned.dup()
        assert dup.fd != r
    assert not is_open(r) and is_open(dup.fd)
    dup.close()


def test_garbage_collection_closes() -> None:
    r, w = os.pipe()
    os.close(w)
    OwnedFd(r, "pipe")
    gc.collect()
    assert not is_open(r)


def test_invalid_fd() -> None:
    with pytest.raises(ValueError, match="invalid file descriptor -1"):
        OwnedFd(-1, "x")


def test_raw_fd_accepts_ints_and_filenos() -> None:
    s = socket.socket()
    assert raw_fd(s, "attach") == s.fileno()
    assert raw_fd(5, "attach") == 5
    s.close()
    with pytest.raises(ClosedError, match="socket is closed"):
        raw_fd(s, "attach")
    with pytest.raises(ValueError):
        raw_fd(-3, "attach")
    with pytest.raises(TypeError, match="got str"):
        raw_fd("x", "attach")
    with pytest.raises(TypeError, match="bool"):
        raw_fd(True, "attach")
