"""Network interfaces and XDP over netlink (libbpf's ``bpf_xdp_attach``/``detach``/``query``).

Interface names and indexes are those of the calling thread's network namespace.
"""

from __future__ import annotations

import errno as E
import socket
from typing import NamedTuple

from bpf4py.errors import BpfError, ProgramError

from ._lib import ffi, lib
from .check import check


def interface_index(interface: str | int, cls: type[BpfError], doing: str) -> int:
    """The index of ``interface``: a name, or an index (checked to exist).

    An unknown name or index raises ``cls`` (errno ENODEV) naming it.
    """
    if isinstance(interface, bool) or not isinstance(interface, (str, int)):
        raise TypeError(f"{doing}: a network interface is a name or an index, got "
                        f"{type(interface).__name__}")
    if isinstance(interface, int):
        if not 0 < interface < 1 << 31:
            raise ValueError(f"{doing}: {interface} is not a valid interface index")
        try:
            socket.if_indextoname(interface)
        except OSError:
            raise _no_interface(cls, doing, f"with index {interface}") from None
        return interface
    try:
        return socket.if_nametoindex(interface)
    except (OSError, ValueError):
        raise _no_interface(cls, doing, f"named {interface!r}") from None


def _no_interface(cls: type[BpfError], doing: str, named: str) -> BpfError:
    return cls(f"{doing}: there is no network interface {named} in this network namespace",
               errno=E.ENODEV,
               hint="check `ip link`; run in the interface's namespace (`ip netns exec NS ...`)")


def xdp_attach(ifindex: int, prog_fd: int, flags: int, what: str) -> None:
    """Attach with netlink (``IFLA_XDP``); ``flags`` are the kernel's ``XDP_FLAGS_*``."""
    check(lib.bpf_xdp_attach(ifindex, prog_fd, flags, ffi.NULL), ProgramError,
          f"attaching {what} with netlink")


def xdp_detach(ifindex: int, flags: int, prog_fd: int | None, what: str) -> None:
    """Remove the XDP program of the interface in the mode ``flags`` selects.  With
    ``prog_fd``, only if that program is the one attached (``XDP_FLAGS_REPLACE``, Linux 5.7;
    EEXIST otherwise)."""
    opts = ffi.NULL
    if prog_fd is not None:
        opts = ffi.new("struct bpf_xdp_attach_opts *")
        opts.sz = ffi.sizeof("struct bpf_xdp_attach_opts")
        opts.old_prog_fd = prog_fd
    check(lib.bpf_xdp_detach(ifindex, flags, opts), ProgramError,
          f"detaching {what} with netlink")


class XdpQueryRaw(NamedTuple):
    prog_id: int
    drv_prog_id: int
    skb_prog_id: int
    hw_prog_id: int
    attach_mode: int


def xdp_query(ifindex: int, what: str) -> XdpQueryRaw:
    opts = ffi.new("struct bpf_xdp_query_opts *")
    opts.sz = ffi.sizeof("struct bpf_xdp_query_opts")
    check(lib.bpf_xdp_query(ifindex, 0, opts), ProgramError, f"querying the XDP programs of {what}")
    return XdpQueryRaw(opts.prog_id, opts.drv_prog_id, opts.skb_prog_id, opts.hw_prog_id,
                       opts.attach_mode)
