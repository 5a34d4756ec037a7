"""Ctrl-C during a blocking call: shared by the ring buffer and perf buffer reader tests."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest


def interrupt_delay(blocking_call: Callable[[], object], receiver: str) -> float:
    """Send SIGINT 0.2 s into ``blocking_call()`` -- to the process, or to another thread when
    ``receiver`` is ``"other thread"`` -- and return how long KeyboardInterrupt took."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sent: list[float] = []

    def interrupt() -> None:
        sent.append(time.monotonic())
        if receiver == "process":
            os.kill(os.getpid(), signal.SIGINT)
        else:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    timer = threading.Timer(0.2, interrupt)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            blocking_call()
        return time.monotonic() - sent[0]
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
