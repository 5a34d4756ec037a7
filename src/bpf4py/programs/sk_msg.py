"""SkMsg: inspect, redirect or drop the messages sockets of a socket map send."""

from __future__ import annotations

from typing import ClassVar

from ..links import LinkId
from ..types import AttachType, ProgramType
from .base import Program
from .sockmap_attach import attach_to_sock_map


class SkMsg(Program):
    """A program that intercepts messages sent with ``sendmsg()``/``sendfile()`` on the
    sockets of a SockMap/SockHash.

    It runs once per send call and returns ``SK_PASS``, ``SK_DROP`` (the sender's call fails
    with ``EACCES``: a ``PermissionError`` in Python, and nothing is sent) or a redirect to
    another socket (``bpf_msg_redirect_map``/``bpf_msg_redirect_hash``).  The kernel gives a
    socket the map's programs when the socket is added, so attach before adding sockets;
    detaching leaves sockets already in the map running the program until they are removed
    from it.

    Minimum kernel version: 4.17 (pinnable BPF links: 6.10, else ``BPF_PROG_ATTACH``).

    Example (aya's)::

        import socket
        from bpf4py import Ebpf
        from bpf4py.maps.sock import SockHash
        from bpf4py.programs.sk_msg import SkMsg

        ebpf = Ebpf.load_file("intercept.bpf.o")
        intercept_egress = ebpf.map("INTERCEPT_EGRESS", SockHash)
        prog = ebpf.program("intercept_egress_packet", SkMsg)
        prog.load()
        prog.attach(intercept_egress.fd)

        client = socket.create_connection(("127.0.0.1", 1234))
        intercept_egress.insert(1234, client)
        client.sendall(b"foo")              # the write is intercepted
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.SK_MSG
    MIN_KERNEL: ClassVar[str] = "4.17"

    def attach(self, sock_map: object) -> LinkId:
        """Attach to ``sock_map`` (a SockMap, a SockHash, or the descriptor of one); returns
        the id for :meth:`detach`/:meth:`take_link`."""
        return attach_to_sock_map(self, sock_map, AttachType.SK_MSG_VERDICT)
