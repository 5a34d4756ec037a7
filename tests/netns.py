"""Running test code inside a network namespace (Python 3.11 has no ``os.setns``), and UDP
between the two namespaces of the ``netns_pair`` fixture.

``run_in_netns(ns, scenario, *args)`` runs the module-level function ``scenario(*args)`` in a
child Python started with ``ip netns exec ns``; an exception there (an assert) fails the
calling test with the child's traceback.  ``socket_in(ns)`` gives the caller a socket that
lives in another namespace: a short-lived child creates and binds it there and hands it over
with ``SCM_RIGHTS`` (a socket stays in the namespace it was created in).

The XDP scenarios (tests/kernel/test_xdp.py, test_net_maps.py) run in namespace B: ``server()``
binds there, ``socket_in(ns_a, A_IP)`` is the client, and ``send`` checks whether a datagram
A -> B crossed the veth (and the XDP program on B's end).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bpf4py import Array, Ebpf

ROOT = Path(__file__).resolve().parents[1]
# The addresses netns_pair gives the veth ends, and the UDP port the XDP test programs match.
A_IP, B_IP = "10.200.0.1", "10.200.0.2"
PORT = 9000

_RUNNER = r"""
import importlib, json, sys
module, name, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
getattr(importlib.import_module(module), name)(*args)
"""

_MAKE_SOCKET = r"""
import socket, sys
channel, kind, host, port, no_check = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                       int(sys.argv[4]), sys.argv[5] == "1")
sock = socket.socket(socket.AF_INET, kind)
if no_check:
    sock.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK: UDP without a checksum
sock.bind((host, port))
socket.send_fds(socket.socket(fileno=channel), [b"socket"], [sock.fileno()])
"""


def run_in_netns(ns: str, scenario: Callable[..., None], *args: object,
                 timeout: float = 60) -> None:
    """Run ``scenario(*args)`` (JSON-able args) in a child Python inside ``ns``."""
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", _RUNNER, scenario.__module__,
         scenario.__qualname__, json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"{scenario.__qualname__} failed in network namespace {ns} (exit "
                    f"{proc.returncode}):\n{proc.stderr}{proc.stdout}", pytrace=False)


def socket_in(ns: str, host: str, port: int = 0, kind: int = socket.SOCK_DGRAM,
              no_check: bool = False) -> socket.socket:
    """A socket of ``kind`` created in network namespace ``ns`` and bound to (host, port).

    ``no_check``: UDP datagrams go out without a checksum (SO_NO_CHECK), so frames an XDP
    program rewrites and sends back need no checksum offload fix-up.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with ours, theirs:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", _MAKE_SOCKET,
             str(theirs.fileno()), str(kind), host, str(port), "1" if no_check else "0"],
            pass_fds=[theirs.fileno()], capture_output=True, text=True, timeout=30, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"creating a socket in {ns} failed:\n{proc.stderr}")
        _, fds, _, _ = socket.recv_fds(ours, 16, 1)
    return socket.socket(fileno=fds[0])


def receive(sock: socket.socket, timeout: float = 2.0) -> tuple[bytes, tuple[str, int]] | None:
    """One datagram and its sender, or None when none arrives within ``timeout``."""
    sock.settimeout(timeout)
    try:
        data, peer = sock.recvfrom(4096)
    except TimeoutError:
        return None
    return data, peer


def server(port: int = PORT) -> socket.socket:
    """A UDP socket bound to ``port`` on B's address (call it in namespace B)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((B_IP, port))
    return sock


def send(client: socket.socket, srv: socket.socket, payload: bytes, arrives: bool) -> None:
    """Send ``payload`` from the client (namespace A) to the server (B); check whether it
    arrives (waiting 2 s for it, or 0.5 s to be sure it does not)."""
    client.sendto(payload, (B_IP, srv.getsockname()[1]))
    got = receive(srv, 2.0 if arrives else 0.5)
    assert (got is not None) == arrives, f"{payload!r} {'was not' if arrives else 'was'} delivered"
    assert got is None or got[0] == payload, got


def check_count(ebpf: Ebpf, slot: int, expected: int) -> None:
    """COUNTS[slot] of ``ebpf`` is ``expected`` (with a message: the child has no pytest
    assertion rewriting)."""
    actual = ebpf.map("COUNTS", Array)[slot]
    assert actual == expected, f"COUNTS[{slot}] is {actual}, expected {expected}"
