"""What every cgroup program type shares: the attach mode and attaching to a cgroup v2 directory.

How an attachment is made (checked on Linux 6.18):

* The kernel runs every cgroup BPF *link* (``BPF_LINK_CREATE``, Linux 5.7+) in multi mode, and
  ``BPF_LINK_CREATE`` takes none of the mode flags: ``BPF_F_ALLOW_OVERRIDE`` and
  ``BPF_F_ALLOW_MULTI`` fail with EINVAL (on 6.18 only the ordering flags ``BPF_F_BEFORE``/
  ``AFTER``/``PREORDER`` are accepted).  So a link *is* an :attr:`CgroupAttachMode.ALLOW_MULTIPLE`
  attachment, and :attr:`~CgroupAttachMode.ALLOW_MULTIPLE` makes one (an :class:`FdLink`: it
  can be pinned).  Kernels without cgroup links answer EINVAL/EOPNOTSUPP; bpf4py then falls
  back to ``BPF_PROG_ATTACH`` with ``BPF_F_ALLOW_MULTI``.
* :attr:`~CgroupAttachMode.SINGLE` and :attr:`~CgroupAttachMode.ALLOW_OVERRIDE` exist only for
  ``BPF_PROG_ATTACH``, so they always use it (a :class:`ProgAttachLink`, not pinnable).  Giving a
  link instead would silently turn them into ALLOW_MULTIPLE.

The kernel refuses (EPERM) to mix modes on one cgroup and attach type, e.g. a SINGLE program
next to a link.
"""

from __future__ import annotations

import errno as E
import os
import stat
import weakref
from contextlib import ExitStack
from enum import IntEnum
from typing import TYPE_CHECKING

from .._native import bpf as _bpf
from .._native.check import ENOTSUPP
from .._native.fd import OwnedFd, raw_fd
from ..errors import BpfError, ClosedError, LinkError, ProgramError, with_builtin
from ..fs import fs_type
from ..links import FdLink, Link, LinkId, ProgAttachLink
from .base import LoadFn, Program

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike, StrPath

    #: A cgroup: its directory on cgroup v2, or an open descriptor of that directory.
    CgroupTarget = StrPath | FileDescriptorLike

# link_create's answers on kernels that have no BPF links for cgroups (before 5.7).
_NO_CGROUP_LINKS = (E.EINVAL, E.EOPNOTSUPP, ENOTSUPP)
_EPERM_HINT = (
    "the cgroup or an ancestor already has programs of this attach type attached in another "
    "mode (BPF links are always ALLOW_MULTIPLE; a SINGLE program forbids attachments below "
    "it), or the process lacks root / CAP_NET_ADMIN"
)


class CgroupAttachMode(IntEnum):
    """How a program shares a cgroup's attach point; the values are ``BPF_PROG_ATTACH`` flags.

    ``SINGLE``: the only program of this attach type in the cgroup's subtree (descendants
    cannot attach their own); the cgroup has one slot, so attaching another SINGLE program
    replaces this one, and detaching empties the slot whichever program fills it.
    ``ALLOW_OVERRIDE``: like SINGLE, but a program attached to a descendant cgroup replaces
    this one for that descendant.  ``ALLOW_MULTIPLE``: every program attached to the cgroup and
    its ancestors runs; made as a BPF link where the kernel has them (Linux 5.7+).
    """

    SINGLE = 0
    ALLOW_OVERRIDE = 1  # BPF_F_ALLOW_OVERRIDE
    ALLOW_MULTIPLE = 2  # BPF_F_ALLOW_MULTI


def open_cgroup(cgroup: CgroupTarget, doing: str) -> tuple[OwnedFd, str]:
    """A descriptor of the cgroup directory owned by the caller, and how to name it.

    A path must be a directory on a cgroup v2 file system; a descriptor is duplicated (the
    caller's stays theirs) and must be an open directory.
    """
    if isinstance(cgroup, (str, os.PathLike)):
        path = os.fspath(cgroup)
        where = f"cgroup {path}"
        try:  # first: a missing path is ENOENT, not "on the file system of its parent"
            fd = OwnedFd(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), where)
        except OSError as exc:
            raise with_builtin(ProgramError, exc.errno)(f"{doing}: opening {path}",
                                                        errno=exc.errno) from None
        kind = fs_type(path)
        if kind != "cgroup2":
            fd.close()
            raise ProgramError(f"{doing}: {path} is not a cgroup v2 directory (it is on "
                               f"{kind or 'no known'} file system)",
                               hint="pass a directory under the cgroup2 mount, e.g. "
                                    "/sys/fs/cgroup or /sys/fs/cgroup/unified")
        return fd, where
    try:
        number = raw_fd(cgroup, doing)
    except ValueError as exc:  # a closed file's fileno() raises ValueError
        if isinstance(exc, BpfError):
            raise
        raise ClosedError(f"{doing}: the cgroup descriptor is not usable ({exc})") from None
    where = f"cgroup fd {number}"
    try:
        fd = OwnedFd(os.dup(number), where)
    except OSError as exc:
        raise with_builtin(ProgramError, exc.errno)(f"{doing}: {where} is not open",
                                                    errno=exc.errno) from None
    try:
        if not stat.S_ISDIR(os.fstat(fd.fd).st_mode):
            raise ProgramError(f"{doing}: {where} is not a directory (expected an open cgroup "
                               "v2 directory)")
    except BaseException:
        fd.close()
        raise
    return fd, where


def _attach(prog: OwnedFd, cgroup: OwnedFd, where: str, attach_type: int,
            mode: CgroupAttachMode, what: str) -> Link:
    """Attach and return the link (``where`` names the cgroup in hints); on failure nothing
    stays attached or open."""
    try:
        if mode is CgroupAttachMode.ALLOW_MULTIPLE:
            try:
                return FdLink(_bpf.link_create(prog.fd, cgroup.fd, attach_type, 0, what), what)
            except LinkError as exc:
                if exc.errno not in _NO_CGROUP_LINKS:
                    raise
        with ExitStack() as stack:
            prog_dup = stack.enter_context(prog.dup())
            cgroup_dup = stack.enter_context(cgroup.dup())
            _bpf.prog_attach(prog.fd, cgroup.fd, attach_type, int(mode), what)
            stack.pop_all()
        return ProgAttachLink(prog_dup, cgroup_dup, attach_type, what)
    except BpfError as exc:
        if exc.errno == E.EPERM:
            exc.hint = _EPERM_HINT
        elif exc.errno == E.EBADF:
            exc.hint = f"{where} is not a cgroup v2 directory"
        raise


class CgroupProgram(Program):
    """Base of the program types attached to a cgroup v2 directory.

    A program is attached at most once per (cgroup, attach type): attaching it again while
    the first attachment (tracked, or taken with ``take_link`` and not closed; a pinned link
    is on its own) is in place raises :class:`LinkError`.
    """

    def __init__(
        self,
        name: str,
        section: str = "",
        *,
        loader: LoadFn | None = None,
        fd: OwnedFd | None = None,
    ) -> None:
        super().__init__(name, section, loader=loader, fd=fd)
        # (st_dev, st_ino, attach type) -> the link attached there (weak: a dropped taken link
        # detaches on garbage collection and frees the slot).
        self._cgroup_links: dict[tuple[int, int, int], weakref.ref[Link]] = {}

    def _attach_cgroup(self, cgroup: CgroupTarget, attach_type: int, type_name: str,
                       mode: CgroupAttachMode) -> LinkId:
        prog = self._owned()
        mode = CgroupAttachMode(mode)
        doing = f"attaching {self.what} to {type_name}"
        cgroup_fd, where = open_cgroup(cgroup, doing)
        with cgroup_fd:
            st = os.fstat(cgroup_fd.fd)
            key = (st.st_dev, st.st_ino, attach_type)
            self._cgroup_links = {k: ref for k, ref in self._cgroup_links.items()
                                  if (link := ref()) is not None and link.attached}
            if key in self._cgroup_links:
                raise LinkError(f"{doing} of {where}: it is already attached there "
                                "(detach it first)")
            what = f"{self.what} to {type_name} of {where}"
            link = _attach(prog, cgroup_fd, where, attach_type, mode, what)
        self._cgroup_links[key] = weakref.ref(link)
        return self._track(link)
