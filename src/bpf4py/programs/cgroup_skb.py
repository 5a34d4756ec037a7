"""CgroupSkb: inspect or filter the packets of every socket in a cgroup."""

from __future__ import annotations

import os
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

from .._native.object import ProgramSpec
from ..errors import ProgramError
from ..links import LinkId
from ..types import AttachType, ProgramType
from .base import LoadFn
from .cgroup import CgroupAttachMode, CgroupProgram
from .test_run import TestRun

if TYPE_CHECKING:
    from .cgroup import CgroupTarget

_SECTION_PREFIX = "cgroup_skb/"  # cgroup_skb/ingress, cgroup_skb/egress; cgroup/skb has none


class CgroupSkbAttachType(IntEnum):
    """Where a :class:`CgroupSkb` program runs; the values are the kernel's attach types."""

    INGRESS = AttachType.CGROUP_INET_INGRESS
    EGRESS = AttachType.CGROUP_INET_EGRESS


class CgroupSkb(CgroupProgram, TestRun):
    """A program that inspects or filters network activity of a cgroup.

    It runs for every packet that the sockets of the cgroup's processes (and of its descendant
    cgroups') receive (``INGRESS``) or send (``EGRESS``); ``struct __sk_buff`` data starts at
    the IP header.  Returning 1 lets the packet through, 0 drops it (a dropped send fails with
    EPERM).  ``attach`` returns a :class:`~bpf4py.links.LinkId`: ``detach(link_id)`` removes
    the attachment, ``take_link(link_id)`` hands it to you, ``unload()`` detaches what the
    program still tracks.  See :class:`~bpf4py.programs.cgroup.CgroupAttachMode` for how the
    modes map to BPF links and ``BPF_PROG_ATTACH``.

    Minimum kernel version: 4.10.

    Example::

        from bpf4py import Ebpf
        from bpf4py.programs.cgroup import CgroupAttachMode
        from bpf4py.programs.cgroup_skb import CgroupSkb, CgroupSkbAttachType

        ebpf = Ebpf.load_file("filter.bpf.o")
        egress = ebpf.program("egress_filter", CgroupSkb)
        egress.load()
        link_id = egress.attach("/sys/fs/cgroup/unified", CgroupSkbAttachType.EGRESS,
                                CgroupAttachMode.ALLOW_MULTIPLE)
        ...
        egress.detach(link_id)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.CGROUP_SKB
    MIN_KERNEL: ClassVar[str] = "4.10"

    # From the section; set per instance by _from_spec/from_pin.
    _expected_attach_type: CgroupSkbAttachType | None = None

    @classmethod
    def _from_spec(cls, spec: ProgramSpec, loader: LoadFn) -> CgroupSkb:
        prog = super()._from_spec(spec, loader)
        if spec.section.startswith(_SECTION_PREFIX):
            prog._expected_attach_type = CgroupSkbAttachType(spec.expected_attach_type)
        return prog

    @classmethod
    def from_pin(  # type: ignore[override]
        cls, path: str | os.PathLike[str], attach_type: CgroupSkbAttachType | None
    ) -> CgroupSkb:
        """Open a CgroupSkb program pinned at ``path``.

        The kernel does not report a program's expected attach type, so pass the one it was
        loaded with (None for a ``cgroup/skb`` program), as aya's ``from_pin`` does.
        """
        prog = super().from_pin(path)
        prog._expected_attach_type = attach_type
        return prog

    @property
    def expected_attach_type(self) -> CgroupSkbAttachType | None:
        """``INGRESS`` for section ``cgroup_skb/ingress``, ``EGRESS`` for
        ``cgroup_skb/egress``, None for the generic ``cgroup/skb`` (attachable to both)."""
        return self._expected_attach_type

    def attach(
        self,
        cgroup: CgroupTarget,
        attach_type: CgroupSkbAttachType,
        mode: CgroupAttachMode = CgroupAttachMode.SINGLE,
    ) -> LinkId:
        """Attach to ``cgroup`` (its directory on cgroup v2, or an open descriptor of it).

        Raises :class:`~bpf4py.errors.NotLoadedError` before ``load()``,
        :class:`~bpf4py.errors.ProgramError` when ``attach_type`` is not the program's
        expected attach type or the cgroup is not a cgroup v2 directory, and
        :class:`~bpf4py.errors.LinkError` when the program is already attached there.
        """
        self._owned()
        attach_type = CgroupSkbAttachType(attach_type)
        expected = self._expected_attach_type
        if expected is not None and expected is not attach_type:
            raise ProgramError(
                f"cannot attach {self.what} to {attach_type.name.lower()}: it was loaded for "
                f"{expected.name.lower()} (section {self.section or 'unknown'!r}); use a "
                "cgroup/skb section for a program that attaches to both"
            )
        return self._attach_cgroup(cgroup, attach_type, f"cgroup_skb {attach_type.name.lower()}",
                                   mode)
