"""Without privileges: loading fails with a PermissionError-derived BpfError and a hint."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from bpf4py.info import loaded_maps, loaded_programs

NOBODY = 65534


def run_as_nobody(fn: Callable[[], dict[str, object]]) -> dict[str, object]:
    """Fork, drop to uid/gid nobody (losing every capability), run fn, return its result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            result = {"unexpected": repr(exc)}
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return dict(json.loads(data))


def test_unprivileged_load_raises_permission_error_with_hint(
        bpf_object: Callable[[str], Path]) -> None:
    data = bpf_object("packet_counter").read_bytes()
    programs_before = {p.id for p in loaded_programs()}
    maps_before = {m.id for m in loaded_maps()}

    def attempt() -> dict[str, object]:
        from bpf4py import BpfError, Ebpf

        try:
            Ebpf.load(data, "unprivileged")
        except BpfError as exc:
            return {"permission": isinstance(exc, PermissionError), "errno": exc.errno_name,
                    "message": str(exc), "uid": os.getuid()}
        return {"loaded": True}

    result = run_as_nobody(attempt)
    assert result.get("uid") == NOBODY, result
    assert result["permission"] is True, result
    assert result["errno"] == "EPERM"
    message = str(result["message"])
    assert "loading eBPF object 'unprivileged'" in message and "CAP_BPF" in message
    # Nothing half-loaded is left behind.
    assert {p.id for p in loaded_programs()} == programs_before
    assert {m.id for m in loaded_maps()} <= maps_before
