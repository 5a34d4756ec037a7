"""CgroupArray: the cgroups ``bpf_skb_under_cgroup`` and ``bpf_current_task_under_cgroup``
test against."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..errors import MapError, ProgramError, with_builtin
from ..programs.cgroup import open_cgroup
from ..types import MapType
from .object_array import ObjectArray

if TYPE_CHECKING:
    from ..programs.cgroup import CgroupTarget


class CgroupArray(ObjectArray):
    """An array of cgroup v2 directories (``BPF_MAP_TYPE_CGROUP_ARRAY``): a BPF program asks
    whether a packet's socket (``bpf_skb_under_cgroup(skb, &map, index)``) or the current
    task (``bpf_current_task_under_cgroup``) is in the cgroup at ``index`` or below it.

    Entries go in as a cgroup directory path or an open descriptor of one (the map keeps a
    reference to the cgroup, not the descriptor).  The kernel reports nothing back to user
    space, so ``get``/``items``/``indices`` raise :class:`~bpf4py.errors.MapError`;
    :meth:`~ObjectArray.clear_index` of an empty index raises
    :class:`~bpf4py.errors.KeyNotFound`.

    Minimum kernel version: 4.8.

    Example::

        from bpf4py.maps.cgroup_array import CgroupArray

        cgroups = ebpf.map("CGROUPS", CgroupArray)
        cgroups.set(0, "/sys/fs/cgroup/unified/app")   # bpf_skb_under_cgroup(skb, &CGROUPS, 0)
        cgroups.clear_index(0)
    """

    MAP_TYPES: ClassVar[tuple[MapType, ...]] = (MapType.CGROUP_ARRAY,)
    MIN_KERNEL: ClassVar[str] = "4.8"
    ENTRY: ClassVar[str] = "cgroup"
    WRITE_ONLY: ClassVar[bool] = True

    def insert(  # type: ignore[override]
        self, key: object, value: CgroupTarget, flags: int = 0
    ) -> None:
        """Put the cgroup ``value`` (a cgroup v2 directory or a descriptor of one) at ``key``."""
        try:
            fd, _ = open_cgroup(value, f"setting index {key!r} of {self.what}")
        except ProgramError as exc:  # the cgroup helper speaks for programs
            raise with_builtin(MapError, exc.errno)(exc.message, errno=exc.errno,
                                                    hint=exc.hint) from None
        with fd:
            super().insert(key, fd.fd, flags)
