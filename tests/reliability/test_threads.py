"""Threads: 8 threads hammer one map while a reader iterates; the final state is consistent."""

from __future__ import annotations

import os
import threading

import pytest

from bpf4py import HashMap, KeyNotFound

pytestmark = pytest.mark.kernel
OPS = int(os.environ.get("BPF4PY_THREAD_OPS", "100000"))


def test_eight_threads_of_mixed_operations_on_one_map() -> None:
    threads_n, per_thread = 8, OPS
    errors: list[BaseException] = []
    with HashMap.create(4, 8, threads_n * 64, name="threads") as m:

        def worker(t: int) -> None:
            try:
                for i in range(per_thread):
                    key = t * 64 + i % 64
                    op = i % 4
                    if op == 0:
                        m[key] = i
                    elif op == 1:
                        try:
                            m[key]
                        except KeyNotFound:
                            pass
                    elif op == 2:
                        key in m
                    else:
                        m[key] = i  # each thread owns its keys: last write wins
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    for _ in m.items():
                        pass
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        r = threading.Thread(target=reader)
        r.start()
        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=300)
        stop.set()
        r.join(timeout=60)
        assert not errors, errors[:3]
        assert not any(w.is_alive() for w in workers) and not r.is_alive()
        # Every key's last write was op 3 (i % 4 == 3) of the last round that touched it.
        expected = {}
        for t in range(threads_n):
            for i in range(per_thread):
                if i % 4 in (0, 3):
                    expected[t * 64 + i % 64] = i
        assert dict(m.items()) == expected
