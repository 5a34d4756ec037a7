"""Attaching a program to a socket map: what SkSkb and SkMsg share.

The target is a :class:`~bpf4py.maps.sock.SockMap`, a :class:`~bpf4py.maps.sock.SockHash`,
or the descriptor of one (an int or anything with ``fileno()``); its type is checked with the
kernel before anything is attached.  The attachment is a BPF link (``BPF_LINK_CREATE`` with the
map as target, Linux 6.10+: an :class:`~bpf4py.links.FdLink` that can be pinned); on older
kernels, where that fails with ``EINVAL``, it falls back to ``BPF_PROG_ATTACH``
(a :class:`~bpf4py.links.ProgAttachLink`).
"""

from __future__ import annotations

import errno
import os

from .._native import bpf as _bpf
from .._native.check import ENOTSUPP
from .._native.fd import OwnedFd, raw_fd
from ..errors import BpfError, InvalidMapType, LinkError, MapError
from ..info import MapInfo
from ..links import FdLink, Link, LinkId, ProgAttachLink
from ..types import AttachType, MapType
from .base import Program

_SOCKET_MAP_TYPES = (MapType.SOCKMAP, MapType.SOCKHASH)
# BPF_LINK_CREATE on a socket map fails with these before Linux 6.10.
_NO_SOCKMAP_LINKS = (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP)


def attach_to_sock_map(program: Program, sock_map: object, attach_type: AttachType) -> LinkId:
    """Attach ``program`` to ``sock_map`` as ``attach_type`` and track the link on the program.

    Raises NotLoadedError before ``load()``, InvalidMapType when the target is not a
    SOCKMAP/SOCKHASH, LinkError when a program of that attach type is already attached.
    """
    prog_fd = program.fd  # NotLoadedError first: nothing else is worth checking before
    map_fd, map_name = _sock_map_fd(program, sock_map, attach_type)
    what = f"{type(program).__name__} {program.name!r} ({_label(attach_type)}) to map {map_name!r}"
    try:
        link: Link = FdLink(_bpf.link_create(prog_fd, map_fd, attach_type, 0, what), what)
    except LinkError as exc:
        if exc.errno not in _NO_SOCKMAP_LINKS:
            raise _explain_busy(exc, what, attach_type) from None
        link = _prog_attach(program, map_fd, attach_type, what)
    return program._track(link)


def _prog_attach(program: Program, map_fd: int, attach_type: AttachType, what: str) -> Link:
    """The pre-6.10 attachment: BPF_PROG_ATTACH, detached with BPF_PROG_DETACH.

    The kernel then replaces a program of the same attach type silently instead of refusing.
    """
    prog = program._owned().dup(f"program {program.name!r}")
    target = OwnedFd(os.dup(map_fd), f"socket map of {what}")
    try:
        _bpf.prog_attach(prog.fd, target.fd, attach_type, 0, what)
    except BpfError as exc:
        prog.close()
        target.close()
        raise _explain_busy(exc, what, attach_type) from None
    return ProgAttachLink(prog, target, attach_type, what)


def _sock_map_fd(program: Program, sock_map: object, attach_type: AttachType) -> tuple[int, str]:
    """The descriptor and name of ``sock_map``, checked to be a SOCKMAP or SOCKHASH."""
    doing = f"attaching {type(program).__name__} {program.name!r} ({_label(attach_type)})"
    fd = raw_fd(sock_map, doing)
    try:
        info = MapInfo.from_fd(fd, f"the target of {doing}")
    except MapError as exc:
        raise InvalidMapType(f"{doing}: file descriptor {fd} is not an open BPF map",
                             errno=exc.errno) from None
    if info.map_type not in _SOCKET_MAP_TYPES:
        kind = getattr(info.map_type, "name", info.map_type)
        raise InvalidMapType(f"{doing}: map {info.name!r} is a {kind} map; programs of this "
                             "type attach to a SOCKMAP or SOCKHASH")
    return fd, info.name


def _explain_busy(exc: BpfError, what: str, attach_type: AttachType) -> BpfError:
    if exc.errno != errno.EBUSY:
        return exc
    if attach_type in (AttachType.SK_SKB_STREAM_VERDICT, AttachType.SK_SKB_VERDICT):
        attached = "a stream verdict or verdict program (a map takes one of the two)"
    else:
        attached = f"a {_label(attach_type)} program"
    hint = f"{attached} is already attached to the map; detach it first"
    return LinkError(f"attaching {what}", errno=exc.errno, hint=hint)


def _label(attach_type: AttachType) -> str:
    return attach_type.name.lower()
