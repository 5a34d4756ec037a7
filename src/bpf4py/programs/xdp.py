"""Xdp: run a program on every frame a network interface receives, before the kernel stack."""

from __future__ import annotations

import errno as E
import logging
import os
from enum import IntEnum, IntFlag
from typing import ClassVar, NamedTuple

from .. import features
from .._native import bpf as _bpf
from .._native import xdp as _xdp
from .._native.fd import OwnedFd
from .._native.object import ProgramSpec
from ..errors import BpfError, LinkError, ProgramError
from ..links import FdLink, Link, LinkId
from ..types import AttachType, ProgramType
from .base import LoadFn
from .test_run import TestRun

logger = logging.getLogger("bpf4py.programs.xdp")


class XdpFlags(IntFlag):
    """How :meth:`Xdp.attach` attaches (the kernel's ``XDP_FLAGS_*``).

    At most one of ``SKB_MODE`` (generic XDP, any interface), ``DRV_MODE`` (the driver runs
    the program) and ``HW_MODE`` (offloaded to the NIC); ``DEFAULT`` lets the kernel choose
    (the driver's mode when it has one).  ``UPDATE_IF_NOEXIST`` (fail with EBUSY when the
    interface already runs a program) and ``REPLACE`` (as the kernel has it without an
    expected program: fail with EEXIST when the interface runs one) exist only for netlink
    attachments: with either, ``attach`` uses netlink instead of a BPF link.
    """

    DEFAULT = 0
    UPDATE_IF_NOEXIST = 1 << 0
    SKB_MODE = 1 << 1
    DRV_MODE = 1 << 2
    HW_MODE = 1 << 3
    REPLACE = 1 << 4


_MODES = XdpFlags.SKB_MODE | XdpFlags.DRV_MODE | XdpFlags.HW_MODE
_NETLINK_ONLY = XdpFlags.UPDATE_IF_NOEXIST | XdpFlags.REPLACE
_KNOWN = int(_MODES | _NETLINK_ONLY)
# Attach failures that say something about the interface.
_HINTS = {
    E.EBUSY: "the interface already runs an XDP program (or link) in this mode; detach it first",
    E.EEXIST: "the interface runs an XDP program in another mode, or not the one REPLACE "
              "expected; detach it first",
    E.ENODEV: "no interface has this index in this network namespace",
    E.EOPNOTSUPP: "the interface's driver has no native XDP for this mode; use "
                  "XdpFlags.SKB_MODE",
}


class XdpAttachType(IntEnum):
    """What an XDP program is loaded for (libbpf takes it from the section name).

    ``INTERFACE`` (section ``xdp``): :meth:`Xdp.attach` to a network interface.
    ``DEVMAP`` (``xdp/devmap``) and ``CPUMAP`` (``xdp/cpumap``): the program of a
    :class:`~bpf4py.maps.dev_map.DevMap` / :class:`~bpf4py.maps.cpu_map.CpuMap` entry, run on
    the frames redirected to it (Linux 5.8 / 5.9).
    """

    INTERFACE = AttachType.XDP
    DEVMAP = AttachType.XDP_DEVMAP
    CPUMAP = AttachType.XDP_CPUMAP


class NetlinkXdpLink(Link):
    """An XDP attachment made with netlink (kernels before 5.9, or netlink-only flags).

    Detaching removes the program only if it is still the one the interface runs (Linux
    5.7+), and must happen in the network namespace of the attachment: the link knows the
    interface by index.
    """

    def __init__(self, prog: OwnedFd, ifindex: int, flags: XdpFlags, what: str) -> None:
        mode = flags & _MODES

        def detach() -> None:
            try:
                _xdp.xdp_detach(ifindex, mode, prog.fd, what)
            except ProgramError as exc:
                if exc.errno == E.EINVAL:  # before 5.7: no XDP_FLAGS_REPLACE
                    _xdp.xdp_detach(ifindex, mode, None, what)
                # EEXIST: another program replaced ours; ENODEV: the interface is gone.
                elif exc.errno in (E.EEXIST, E.ENODEV):
                    logger.debug("%s was already detached", what)
                else:
                    raise
            finally:
                prog.close()

        super().__init__(what, detach)


class XdpPrograms(NamedTuple):
    """The ids of the XDP programs an interface runs, per mode (0: none).

    ``program_id`` is the program when exactly one mode is in use (0 otherwise).
    """

    program_id: int
    drv_program_id: int
    skb_program_id: int
    hw_program_id: int


def attached_xdp_programs(interface: str | int) -> XdpPrograms:
    """Which XDP programs ``interface`` (a name or an index in this network namespace) runs.

    Example::

        if attached_xdp_programs("eth0").program_id:
            print("eth0 runs an XDP program")
    """
    doing = f"querying the XDP programs of interface {interface!r}"
    index = _xdp.interface_index(interface, ProgramError, doing)
    raw = _xdp.xdp_query(index, f"interface {interface!r}")
    return XdpPrograms(raw.prog_id, raw.drv_prog_id, raw.skb_prog_id, raw.hw_prog_id)


class Xdp(TestRun):
    """An XDP program: it runs on every frame an interface receives, before the kernel
    allocates anything for it, and returns what happens to the frame: ``XDP_DROP``,
    ``XDP_PASS`` (on to the stack), ``XDP_TX`` (back out of the interface) or
    ``XDP_REDIRECT`` (to another interface, CPU or AF_XDP socket through a
    :class:`~bpf4py.maps.dev_map.DevMap`, :class:`~bpf4py.maps.cpu_map.CpuMap` or
    :class:`~bpf4py.maps.xsk_map.XskMap`).

    :meth:`attach` makes a BPF link (Linux 5.9+), or falls back to netlink on older kernels;
    it returns a :class:`~bpf4py.links.LinkId` for :meth:`detach` and :meth:`take_link`, and
    :meth:`unload` detaches what the program still tracks.  Programs of sections
    ``xdp/devmap`` and ``xdp/cpumap`` are not attached to interfaces: they are the programs of
    DevMap/CpuMap entries (see :class:`XdpAttachType`).  ``test_run`` runs the program on a
    frame you craft.

    Minimum kernel version: 4.8.

    Example::

        from bpf4py import Ebpf
        from bpf4py.programs.xdp import Xdp, XdpFlags

        ebpf = Ebpf.load_file("firewall.bpf.o")
        prog = ebpf.program("xdp_firewall", Xdp)
        prog.load()
        link_id = prog.attach("eth0", XdpFlags.SKB_MODE)
        ...
        prog.detach(link_id)
    """

    PROGRAM_TYPE: ClassVar[ProgramType] = ProgramType.XDP
    MIN_KERNEL: ClassVar[str] = "4.8"

    # From the section; set per instance by _from_spec/from_pin.
    _expected_attach_type: XdpAttachType = XdpAttachType.INTERFACE

    @classmethod
    def _from_spec(cls, spec: ProgramSpec, loader: LoadFn) -> Xdp:
        prog = super()._from_spec(spec, loader)
        if spec.expected_attach_type in (AttachType.XDP_DEVMAP, AttachType.XDP_CPUMAP):
            prog._expected_attach_type = XdpAttachType(spec.expected_attach_type)
        return prog

    @classmethod
    def from_pin(
        cls,
        path: str | os.PathLike[str],
        attach_type: XdpAttachType = XdpAttachType.INTERFACE,
    ) -> Xdp:
        """Open an XDP program pinned at ``path``.

        The kernel does not report a program's expected attach type, so pass the one it was
        loaded with, as aya's ``from_pin`` does.
        """
        prog = super().from_pin(path)
        prog._expected_attach_type = XdpAttachType(attach_type)
        return prog

    @property
    def expected_attach_type(self) -> XdpAttachType:
        """What the program was loaded for: an interface, or DevMap/CpuMap entries."""
        return self._expected_attach_type

    def attach(self, interface: str | int, flags: XdpFlags = XdpFlags.DEFAULT) -> LinkId:
        """Attach to ``interface``: its name or index in this network namespace.

        Raises :class:`~bpf4py.errors.NotLoadedError` before ``load()``,
        :class:`~bpf4py.errors.ProgramError` for an unknown interface or a program loaded
        for DevMap/CpuMap entries, and :class:`~bpf4py.errors.LinkError` (ProgramError over
        netlink) when the interface already runs an XDP program in that mode.
        """
        prog_fd = self.fd
        flags = XdpFlags(flags)
        if unknown := int(flags) & ~_KNOWN:
            raise ValueError(f"attaching {self.what}: unknown XDP flags {unknown:#x} (the "
                             "kernel's XDP_FLAGS_* are XdpFlags)")
        if int(flags & _MODES).bit_count() > 1:
            raise ValueError(f"attaching {self.what}: at most one of SKB_MODE, DRV_MODE and "
                             f"HW_MODE, got {flags!r}")
        if self._expected_attach_type is not XdpAttachType.INTERFACE:
            kind = self._expected_attach_type.name
            raise ProgramError(
                f"cannot attach {self.what} to an interface: it was loaded for {kind} entries "
                f"(section {self.section or 'unknown'!r}); set it as the program of a "
                f"{'DevMap' if kind == 'DEVMAP' else 'CpuMap'} entry instead"
            )
        doing = f"attaching {self.what}"
        index = _xdp.interface_index(interface, ProgramError, doing)
        label = (f"interface {interface!r} (ifindex {index})" if isinstance(interface, str)
                 else f"ifindex {index}")
        what = f"XDP program {self.name!r} on {label}"
        try:
            if not flags & _NETLINK_ONLY:
                try:
                    fd = _bpf.link_create(prog_fd, index, AttachType.XDP, flags, what)
                    return self._track(FdLink(fd, what))
                except LinkError as exc:
                    # EINVAL before Linux 5.9 is a kernel without XDP links: netlink then.
                    # On a newer kernel it is this attachment's own error.
                    if exc.errno != E.EINVAL or features.kernel_version() >= (5, 9):
                        raise
            prog = self._owned().dup()
            try:
                _xdp.xdp_attach(index, prog_fd, flags, what)
            except BaseException:
                prog.close()
                raise
            return self._track(NetlinkXdpLink(prog, index, flags, what))
        except BpfError as exc:
            if exc.errno == E.EINVAL and flags & XdpFlags.HW_MODE:
                exc.hint = "HW_MODE needs a NIC and driver that offload XDP programs"
            else:
                exc.hint = _HINTS.get(exc.errno or 0, exc.hint)
            raise

