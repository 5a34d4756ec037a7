"""SkReuseport: choose which socket of an SO_REUSEPORT group gets a packet or connection."""

from __future__ import annotations

from typing import ClassVar

from ..types import ProgramType
from .base import Program
from .socket_filter import _setsockopt

SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68


class SkReuseport(Program):
    """A program that picks the socket of an ``SO_REUSEPORT`` group that receives each UDP
    datagram or TCP connection: it calls ``bpf_sk_select_reuseport(reuse, &map, &index, 0)``
    with a :class:`~bpf4py.maps.reuseport.ReusePortSockArray` and returns ``SK_PASS`` (or
    ``SK_DROP``); when it selects nothing, the kernel picks by hash as without a program.

    A group has one program slot, shared by all its sockets: :meth:`attach` to any socket of
    the group replaces the group's program.  Attachments are not tracked as links (as for
    :class:`~bpf4py.programs.SocketFilter`): call ``SkReuseport.detach(sock)`` or close the
    group's sockets.

    Minimum kernel version: 4.19.

    Example::

        import socket
        from bpf4py.programs.sk_reuseport import SkReuseport

        prog = ebpf.program("select_worker", SkReuseport)
        prog.load()
        prog.attach(first_socket_of_the_group)
        ...
        SkReuseport.detach(first_socket_of_the_group)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.SK_REUSEPORT
    MIN_KERNEL: ClassVar[str] = "4.19"

    def attach(self, socket: object) -> None:
        """Make the program choose for the reuseport group of ``socket`` (a socket object,
        anything with ``fileno()``, or a descriptor), replacing the group's program."""
        _setsockopt(socket, SO_ATTACH_REUSEPORT_EBPF, self.fd,
                    f"attaching SK_REUSEPORT program {self.name!r} to a socket")

    @staticmethod
    def detach(socket: object) -> None:
        """Remove the program of the reuseport group of ``socket``, whichever program it is
        (Linux 5.3).  The program need not be loaded in this process."""
        _setsockopt(socket, SO_DETACH_REUSEPORT_BPF, 0,
                    "detaching the SK_REUSEPORT program of a socket")
