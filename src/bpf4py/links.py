"""Links: attachments that detach themselves.

``attach()`` on a program returns a :class:`LinkId`; the program keeps the link until
``detach(link_id)`` or ``unload()``.  ``take_link(link_id)`` hands you the :class:`Link`; it
detaches on ``close()``/``detach()`` or at the end of a ``with`` block.  Garbage collection
detaches a link too, but only as a safety net (a warning is logged when that happens within a
second of creation: keep a reference to links you mean to keep).

BPF links (:class:`FdLink`, Linux 5.7+ for cgroups, 6.10+ for sockmaps) can be pinned in bpffs
and outlive the process; attachments made with ``BPF_PROG_ATTACH`` (:class:`ProgAttachLink`,
e.g. a cgroup program in single-program mode) cannot::

    link_id = prog.attach("/sys/fs/cgroup/unified/app", CgroupSkbAttachType.EGRESS,
                          CgroupAttachMode.ALLOW_MULTIPLE)   # a BPF link
    link = prog.take_link(link_id)
    pinned = link.pin("/sys/fs/bpf/egress_link")     # survives this process
    ...
    PinnedLink.from_pin("/sys/fs/bpf/egress_link").unpin().detach()
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import time
import weakref
from collections.abc import Callable
from typing import NamedTuple

from ._closing import Closing
from ._native import bpf as _bpf
from ._native.check import ENOTSUPP
from ._native.fd import OwnedFd
from ._pinning import remove_pin
from .errors import LinkError, ProgramError
from .info import LinkInfo

logger = logging.getLogger("bpf4py.links")
_next_id = itertools.count(1)
_EARLY_COLLECT_SECONDS = 1.0


class LinkId(NamedTuple):
    """Names one attachment of one program; returned by ``attach()``."""

    value: int


def _on_collect(what: str, created: float, detach: Callable[[], None]) -> None:
    age = time.monotonic() - created
    if age < _EARLY_COLLECT_SECONDS:
        logger.warning(
            "%s was garbage-collected %.3fs after it was created, which detached it; keep a "
            "reference to the link (or the program that tracks it) for as long as it should "
            "stay attached",
            what,
            age,
        )
    try:
        detach()
    except Exception:  # noqa: BLE001 - a finalizer must not raise
        logger.debug("detaching %s on garbage collection failed", what, exc_info=True)


class Link(Closing):
    """An attachment of a program.  ``detach()``/``close()`` are idempotent."""

    def __init__(self, what: str, detach: Callable[[], None]) -> None:
        self.what = what
        self._finalizer = weakref.finalize(self, _on_collect, what, time.monotonic(), detach)

    @property
    def attached(self) -> bool:
        return self._finalizer.alive

    def detach(self) -> None:
        """Detach now; the kernel stops running the program for this attachment."""
        state = self._finalizer.detach()
        if state is not None:
            _, _, (_, _, detach), _ = state
            detach()

    close = detach

    def _disown(self) -> None:
        """Forget the attachment without detaching (its ownership moved elsewhere)."""
        self._finalizer.detach()


    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.what} {'attached' if self.attached else 'detached'}>"


class ProgAttachLink(Link):
    """An attachment made with ``BPF_PROG_ATTACH`` (kernels or targets without BPF links).

    It holds its own descriptors of the program and the target, so it detaches correctly even
    after the program object is gone.
    """

    def __init__(self, prog: OwnedFd, target: OwnedFd, attach_type: int, what: str) -> None:
        def detach() -> None:
            try:
                _bpf.prog_detach(prog.fd, target.fd, attach_type, what)
            except ProgramError as exc:
                # ENOENT: nothing of ours is attached any more (the cgroup was removed, or
                # a single-program slot was replaced or emptied): already detached.
                if exc.errno != errno.ENOENT:
                    raise
                logger.debug("%s was already detached", what)
            finally:
                prog.close()
                target.close()

        super().__init__(what, detach)


class FdLink(Link):
    """A BPF link (``BPF_LINK_CREATE``): a kernel object with its own descriptor.

    Closing the last descriptor detaches it, unless it is pinned.
    """

    def __init__(self, fd: OwnedFd, what: str) -> None:
        self._fd = fd

        def detach() -> None:
            try:
                _bpf.link_detach(fd.fd, what)
            except LinkError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, ENOTSUPP):  # closing detaches
                    raise
            finally:
                fd.close()

        super().__init__(what, detach)

    @property
    def fd(self) -> int:
        return self._fd.fd

    def fileno(self) -> int:
        return self._fd.fd

    def info(self) -> LinkInfo:
        return LinkInfo.from_fd(self._fd.fd, self.what)

    def pin(self, path: str | os.PathLike[str]) -> PinnedLink:
        """Pin the link in bpffs; it then stays attached after this process exits.

        The FdLink hands its descriptor to the returned PinnedLink, so it pins once.
        """
        path = os.fspath(path)
        if not self.attached:
            raise LinkError(f"pinning {self.what} at {path}: this FdLink no longer owns the "
                            "link (it was pinned or detached)")
        _bpf.obj_pin(self._fd.fd, path, self.what)
        self._disown()
        return PinnedLink(self._fd, path, self.what)


class PinnedLink(Closing):
    """A BPF link pinned in bpffs.  Closing it keeps the link attached (the pin holds it)."""

    def __init__(self, fd: OwnedFd, path: str, what: str) -> None:
        self._fd = fd
        self.path = path
        self.what = what

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> PinnedLink:
        """Open a link pinned at ``path`` (by this or another process)."""
        path = os.fspath(path)
        fd = _bpf.obj_get(path, "link")
        try:
            LinkInfo.from_fd(fd.fd, f"object pinned at {path}")  # a map or program: LinkError
        except BaseException:
            fd.close()
            raise
        return cls(fd, path, f"link pinned at {path}")

    @property
    def fd(self) -> int:
        return self._fd.fd

    def info(self) -> LinkInfo:
        return LinkInfo.from_fd(self._fd.fd, self.what)

    def unpin(self) -> FdLink:
        """Remove the pin; the returned FdLink owns the link (closing it detaches) and this
        PinnedLink is closed.  A closed PinnedLink raises ClosedError and leaves the pin."""
        owned = self._fd.dup()
        try:
            remove_pin(self.path, self.what)
        except BaseException:
            owned.close()
            raise
        self._fd.close()
        return FdLink(owned, self.what)

    def close(self) -> None:
        """Close this descriptor; the link stays attached while pinned."""
        self._fd.close()



class LinkSet:
    """The links a program tracks, by LinkId (used by every program type)."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._links: dict[LinkId, Link] = {}

    def add(self, link: Link) -> LinkId:
        link_id = LinkId(next(_next_id))
        self._links[link_id] = link
        return link_id

    def __contains__(self, link_id: object) -> bool:
        return link_id in self._links

    def __len__(self) -> int:
        return len(self._links)

    def values(self) -> list[Link]:
        return list(self._links.values())

    def pop(self, link_id: LinkId) -> Link:
        try:
            return self._links.pop(link_id)
        except (KeyError, TypeError):
            raise LinkError(
                f"{self._owner} has no link {link_id!r} (already detached or taken, or the "
                "id belongs to another program)"
            ) from None

    def detach_all(self) -> None:
        errors = []
        while self._links:
            _, link = self._links.popitem()
            try:
                link.detach()
            except Exception as exc:  # noqa: BLE001 - detach the rest, then report
                errors.append(exc)
        if errors:
            raise errors[0]
