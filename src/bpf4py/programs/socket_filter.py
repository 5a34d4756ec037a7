"""SocketFilter: inspect and filter the packets a socket receives."""

from __future__ import annotations

import socket as _socket
from typing import ClassVar

from .._native.fd import raw_fd
from ..errors import ProgramError, with_builtin
from ..types import ProgramType
from .test_run import TestRun

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27  # the same option as SO_DETACH_FILTER


def _setsockopt(sock: object, option: int, value: int, what: str) -> None:
    fd = raw_fd(sock, what)
    try:
        # A socket object over the caller's descriptor, no dup (socket.fromfd's dup leaks
        # when the descriptor is not a socket); detach() hands the descriptor back unclosed.
        borrowed = _socket.socket(fileno=fd)
        try:
            borrowed.setsockopt(_socket.SOL_SOCKET, option, value)
        finally:
            borrowed.detach()
    except OSError as exc:
        code = exc.errno or 0
        hint = None
        if option == SO_DETACH_BPF and code == 2:
            hint = "the socket has no filter attached"
        elif code == 88:
            hint = "the descriptor is not a socket"
        raise with_builtin(ProgramError, code)(what, errno=code, hint=hint) from None


class SocketFilter(TestRun):
    """A program that inspects and filters the packets a socket receives.

    Each socket has one filter slot: attaching replaces whatever filter the socket had, and
    :meth:`detach` clears the slot whoever filled it.  So attachments are not tracked as links:
    dropping the program or its ``Ebpf`` does not detach the filter; call
    ``SocketFilter.detach(sock)`` or close the socket.  The program returns how many bytes of
    the packet to keep (0 drops it).

    Minimum kernel version: 3.19.

    Example::

        import socket
        from bpf4py import Ebpf, SocketFilter

        ebpf = Ebpf.load_file("filter.bpf.o")
        prog: SocketFilter = ebpf.program("filter_packets")
        prog.load()
        sock = socket.create_connection(("127.0.0.1", 1234))
        prog.attach(sock)
        ...
        SocketFilter.detach(sock)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.SOCKET_FILTER
    MIN_KERNEL: ClassVar[str] = "3.19"

    def attach(self, socket: object) -> None:
        """Attach the filter to ``socket`` (a socket object, anything with ``fileno()``, or an
        int descriptor), replacing the socket's current filter."""
        _setsockopt(socket, SO_ATTACH_BPF, self.fd,
                    f"attaching socket filter {self.name!r} to a socket")

    @staticmethod
    def detach(socket: object) -> None:
        """Clear the socket's filter slot, whichever program filled it.

        The program need not be loaded in this process.
        """
        _setsockopt(socket, SO_DETACH_BPF, 0, "detaching the socket filter of a socket")
