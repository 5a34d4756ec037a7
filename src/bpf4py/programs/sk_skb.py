"""SkSkb: inspect, redirect or drop the data a socket of a socket map receives."""

from __future__ import annotations

import os
from enum import Enum
from typing import ClassVar

from .._native.fd import OwnedFd
from .._native.object import ProgramSpec
from ..errors import ProgramError
from ..info import ProgramInfo
from ..links import LinkId
from ..types import AttachType, ProgramType
from .base import LoadFn, Program
from .sockmap_attach import attach_to_sock_map


class SkSkbKind(Enum):
    """Where an SkSkb program sits on a socket's receive path (its attach type).

    ``STREAM_PARSER`` (``sk_skb/stream_parser``) returns the length of the next message;
    ``STREAM_VERDICT`` (``sk_skb/stream_verdict``) decides each message: ``SK_PASS``,
    ``SK_DROP`` or a redirect; ``VERDICT`` (``sk_skb/verdict``, Linux 5.13) decides each
    packet without a parser.  A map takes one parser and one verdict program (stream verdict
    or verdict, not both).
    """

    STREAM_PARSER = AttachType.SK_SKB_STREAM_PARSER
    STREAM_VERDICT = AttachType.SK_SKB_STREAM_VERDICT
    VERDICT = AttachType.SK_SKB_VERDICT

    @classmethod
    def from_attach_type(cls, attach_type: int) -> SkSkbKind | None:
        """The kind for a libbpf expected attach type; None for a plain ``sk_skb`` section."""
        try:
            return cls(attach_type)
        except ValueError:
            return None


class SkSkb(Program):
    """A program that intercepts the data sockets of a SockMap/SockHash receive.

    It can inspect the data, redirect it to another socket of a map (``bpf_sk_redirect_map``,
    ``bpf_sk_redirect_hash``: a proxy with no copy through user space) or drop it.  Its
    :attr:`kind` comes from the ELF section.  The kernel gives a socket the map's programs
    when the socket is added, so attach before adding sockets; detaching leaves sockets already
    in the map running the program until they are removed from it.

    Minimum kernel version: 4.14 (pinnable BPF links: 6.10, else ``BPF_PROG_ATTACH``).

    Example (aya's; the program calls ``bpf_sk_redirect_map(skb, &INTERCEPT_INGRESS, 1, 0)``)::

        import socket
        from bpf4py import Ebpf
        from bpf4py.maps.sock import SockMap
        from bpf4py.programs.sk_skb import SkSkb

        ebpf = Ebpf.load_file("proxy.bpf.o")
        intercept_ingress = ebpf.map("INTERCEPT_INGRESS", SockMap)
        prog = ebpf.program("intercept_ingress_packet", SkSkb)   # sk_skb/stream_verdict
        prog.load()
        link_id = prog.attach(intercept_ingress)

        listener = socket.create_server(("127.0.0.1", 8080))
        frontend, _ = listener.accept()
        backend = socket.create_connection(("127.0.0.1", 9090))
        intercept_ingress.set(0, frontend)    # what frontend receives ...
        intercept_ingress.set(1, backend)     # ... goes out of backend, never through Python
        ...
        prog.detach(link_id)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.SK_SKB
    MIN_KERNEL: ClassVar[str] = "4.14"

    def __init__(
        self,
        name: str,
        section: str = "",
        *,
        loader: LoadFn | None = None,
        fd: OwnedFd | None = None,
        kind: SkSkbKind | None = None,
    ) -> None:
        super().__init__(name, section, loader=loader, fd=fd)
        self.kind = kind

    def attach(self, sock_map: object) -> LinkId:
        """Attach to ``sock_map`` (a SockMap, a SockHash, or the descriptor of one) as
        :attr:`kind`; returns the id for :meth:`detach`/:meth:`take_link`."""
        if self.kind is None:
            raise ProgramError(
                f"attaching {self.what}: section {self.section!r} does not say whether it is a "
                "stream parser or a verdict program",
                hint="use SEC(\"sk_skb/stream_parser\"), SEC(\"sk_skb/stream_verdict\") or "
                     "SEC(\"sk_skb/verdict\")",
            )
        return attach_to_sock_map(self, sock_map, self.kind.value)

    @classmethod
    def _from_spec(cls, spec: ProgramSpec, loader: LoadFn) -> SkSkb:
        return cls(spec.name, spec.section, loader=loader,
                   kind=SkSkbKind.from_attach_type(spec.expected_attach_type))

    @classmethod
    def from_pin(  # type: ignore[override]
        cls, path: str | os.PathLike[str], kind: SkSkbKind
    ) -> SkSkb:
        """Open an SkSkb program pinned at ``path``; ``kind`` says how it attaches (the kernel
        does not record it).  Existing links are not adopted."""
        prog = super().from_pin(path)
        prog.kind = kind
        return prog

    @classmethod
    def from_program_info(  # type: ignore[override]
        cls, info: ProgramInfo, name: str, kind: SkSkbKind
    ) -> SkSkb:
        """A handle to an already loaded SkSkb program; ``kind`` says how it attaches."""
        prog = super().from_program_info(info, name)
        prog.kind = kind
        return prog
