"""The network-side map families against the kernel.

DevMap, DevMapHash, CpuMap and XskMap are driven by real frames: XDP programs of
tests/bpf/netmap_redirect.bpf.c on the veth end in namespace B redirect datagrams sent from
namespace A (the scenarios run in a child inside B, see tests/netns.py).  CgroupArray is
driven by a cgroup_skb program and child processes in two cgroups, ReusePortSockArray by an
SK_REUSEPORT program steering datagrams between SO_REUSEPORT sockets on 127.0.0.1, and the
maps of maps by an XDP program (run with test_run) that writes into the inner maps.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    Ebpf,
    EbpfLoader,
    HashMap,
    IndexOutOfBounds,
    InvalidMapType,
    KeyNotFound,
    MapError,
    NotLoadedError,
    ProgramError,
)
from bpf4py.maps.cgroup_array import CgroupArray
from bpf4py.maps.cpu_map import CpuMap
from bpf4py.maps.dev_map import DevMap, DevMapHash
from bpf4py.maps.of_maps import ArrayOfMaps, HashOfMaps
from bpf4py.maps.reuseport import ReusePortSockArray
from bpf4py.maps.xsk_map import XskMap
from bpf4py.programs.cgroup import CgroupAttachMode
from bpf4py.programs.cgroup_skb import CgroupSkb, CgroupSkbAttachType
from bpf4py.programs.sk_reuseport import SkReuseport
from bpf4py.programs.xdp import Xdp, XdpFlags
from tests.kernel_features import TASK_UNDER_CGROUP_IN_CGROUP_PROGRAMS, requires
from tests.netns import (
    A_IP,
    B_IP,
    PORT,
    check_count,
    receive,
    run_in_netns,
    send,
    server,
    socket_in,
)
from tests.packets import udp_packet
from tests.xsk import XdpSocket

DEVMAP_PROG, CPUMAP_PROG, XSK, DEV_HASH = range(4)  # COUNTS slots of netmap_redirect
XDP_ABORTED, XDP_PASS = 0, 2
SO_COOKIE = 57


def open_redirect(path: str) -> Ebpf:
    return (EbpfLoader().override_global("port", PORT)
            .map_max_entries("CPUS", os.cpu_count() or 1).load_file(path))


def loaded(ebpf: Ebpf, name: str) -> Xdp:
    prog = ebpf.program(name, Xdp)
    prog.load()
    return prog


# --- scenarios (run inside namespace B) -------------------------------------------------------


def devmap_redirect(path: str, ns_a: str, vb: str) -> None:
    """DEVS[0] is B's veth end with an entry program that turns each frame into a reply: the
    client in A gets its datagram back from B.  An emptied index drops the frames."""
    with open_redirect(path) as ebpf, server() as srv, \
            socket_in(ns_a, A_IP, no_check=True) as client:
        devs = ebpf.map("DEVS", DevMap)
        echo = loaded(ebpf, "devmap_echo")
        devs.set(0, vb, echo)
        entry = devs.get(0)
        assert entry == (socket.if_nametoindex(vb), echo.info().id), entry
        assert list(devs.indices()) == [0]
        loaded(ebpf, "redirect_dev").attach(vb, XdpFlags.SKB_MODE)
        client.sendto(b"via devmap", (B_IP, PORT))
        got = receive(client)
        assert got == (b"via devmap", (B_IP, PORT)), got
        assert receive(srv, 0.3) is None
        check_count(ebpf, DEVMAP_PROG, 1)
        devs.clear_index(0)
        assert list(devs.indices()) == []
        client.sendto(b"nowhere to go", (B_IP, PORT))
        assert receive(client, 0.5) is None and receive(srv, 0.1) is None
        check_count(ebpf, DEVMAP_PROG, 1)


def devmap_hash_redirect(path: str, ns_a: str, vb: str) -> None:
    """The program turns frames into replies and redirects them to DEVS_HASH[ingress
    ifindex], an entry without a program; removing the entry drops them."""
    ifindex = socket.if_nametoindex(vb)
    with open_redirect(path) as ebpf, server() as srv, \
            socket_in(ns_a, A_IP, no_check=True) as client:
        devs = ebpf.map("DEVS_HASH", DevMapHash)
        devs[ifindex] = vb
        assert devs[ifindex] == (ifindex, None) and list(devs.keys()) == [ifindex]
        loaded(ebpf, "redirect_dev_hash").attach(vb, XdpFlags.SKB_MODE)
        client.sendto(b"via devmap hash", (B_IP, PORT))
        got = receive(client)
        assert got == (b"via devmap hash", (B_IP, PORT)), got
        del devs[ifindex]
        client.sendto(b"nowhere to go", (B_IP, PORT))
        assert receive(client, 0.5) is None and receive(srv, 0.1) is None
        check_count(ebpf, DEV_HASH, 2)


def cpumap_redirect(path: str, ns_a: str, vb: str) -> None:
    """Frames queued for CPU 0 run the entry's program there and reach the socket; without
    an entry they are dropped; an entry without a program just passes them on."""
    with open_redirect(path) as ebpf, server() as srv, socket_in(ns_a, A_IP) as client:
        cpus = ebpf.map("CPUS", CpuMap)
        counter = loaded(ebpf, "cpumap_count")
        cpus.set(0, 192, counter)
        assert cpus.get(0) == (192, counter.info().id)
        loaded(ebpf, "redirect_cpu").attach(vb, XdpFlags.SKB_MODE)
        for i in range(3):
            send(client, srv, b"to cpu 0 #%d" % i, arrives=True)
        check_count(ebpf, CPUMAP_PROG, 3)
        cpus.clear_index(0)
        send(client, srv, b"no cpu entry", arrives=False)
        cpus.set(0, 64)
        assert cpus.get(0) == (64, None) and list(cpus.indices()) == [0]
        send(client, srv, b"no cpu program", arrives=True)
        check_count(ebpf, CPUMAP_PROG, 3)


def xsk_redirect(path: str, ns_a: str, vb: str) -> None:
    """Frames go to the AF_XDP socket bound to queue 0 of B's veth end instead of the stack;
    once the index is cleared, bpf_redirect_map falls back to XDP_PASS."""
    with open_redirect(path) as ebpf, server() as srv, socket_in(ns_a, A_IP) as client, \
            XdpSocket(vb, queue=0) as xsk:
        xsks = ebpf.map("XSKS", XskMap)
        xsks.set(0, xsk)
        loaded(ebpf, "redirect_xsk").attach(vb, XdpFlags.SKB_MODE)
        client.sendto(b"to af_xdp", (B_IP, PORT))
        frames = xsk.receive()
        assert len(frames) == 1 and frames[0].endswith(b"to af_xdp"), frames
        assert receive(srv, 0.3) is None
        xsks.clear_index(0)
        send(client, srv, b"to the stack", arrives=True)
        assert xsk.receive(0.2) == []
        check_count(ebpf, XSK, 2)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redirect_object(bpf_object: Callable[[str], Path]) -> str:
    return str(bpf_object("netmap_redirect"))


@pytest.fixture
def redirect(redirect_object: str) -> Iterator[Ebpf]:
    with open_redirect(redirect_object) as ebpf:
        yield ebpf


@pytest.mark.parametrize("scenario", [devmap_redirect, devmap_hash_redirect, cpumap_redirect,
                                      xsk_redirect], ids=lambda f: f.__name__)
def test_redirect_on_veth(scenario: Callable[[str, str, str], None], redirect_object: str,
                          netns_pair: tuple[str, str]) -> None:
    ns_a, ns_b = netns_pair
    run_in_netns(ns_b, scenario, redirect_object, ns_a, "vb" + ns_b.rsplit("-", 1)[1])


# --- DevMap, DevMapHash, CpuMap, XskMap without traffic ---------------------------------------


def test_devmap_entries_and_errors(redirect: Ebpf) -> None:
    devs = redirect.map("DEVS", DevMap)
    echo = loaded(redirect, "devmap_echo")
    lo = socket.if_nametoindex("lo")
    devs.set(1, "lo")
    devs.set(3, lo, echo.fd)
    assert devs.get(1) == (lo, None) and devs[3] == (lo, echo.info().id)
    assert list(devs.indices()) == [1, 3] and dict(devs.items()) == {1: (lo, None),
                                                                     3: (lo, echo.info().id)}
    assert len(devs) == 4 and 0 in devs
    with pytest.raises(KeyNotFound):
        devs.get(0)
    with pytest.raises(MapError, match="no network interface named 'nosuchif0'"):
        devs.set(0, "nosuchif0")
    with pytest.raises(MapError) as exc:
        devs.set(0, "lo", loaded(redirect, "redirect_dev"))  # loaded for interfaces
    assert exc.value.errno == errno.EINVAL and "xdp/devmap" in str(exc.value)
    with pytest.raises(IndexOutOfBounds):
        devs.set(4, "lo")
    with pytest.raises(TypeError, match="interface must be an int"):
        devs.set(0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"an entry is \(interface, program\)"):
        devs[0] = ("lo", echo, 0)
    with pytest.raises(NotLoadedError):
        devs.set(0, "lo", redirect.program("cpumap_count"))
    del devs[1]
    devs.clear_index(1)  # the kernel does not report an empty index
    with pytest.raises(TypeError):
        devs.remove("1")
    assert list(devs.indices()) == [3]
    devs.clear()
    assert list(devs.indices()) == []

    small = redirect.map("DEVS_SMALL", DevMap)
    small.set(0, "lo")
    assert small.get(0) == (lo, None)
    with pytest.raises(MapError, match="too small for a program.*bpf_devmap_val"):
        small.set(1, "lo", echo)


def test_devmap_hash_dict_protocol(redirect: Ebpf) -> None:
    devs = redirect.map("DEVS_HASH", DevMapHash)
    lo = socket.if_nametoindex("lo")
    echo = loaded(redirect, "devmap_echo")
    devs.insert(10, "lo")
    devs[20] = (lo, echo)
    devs.update({30: lo})
    assert sorted(devs) == [10, 20, 30] and len(devs) == 3 and 20 in devs
    assert dict(devs.items()) == {10: (lo, None), 20: (lo, echo.info().id), 30: (lo, None)}
    devs.remove(10)
    with pytest.raises(KeyNotFound):
        devs.remove(10)
    with pytest.raises(MapError) as exc:
        devs.insert(20, "lo", flags=1)  # BPF_NOEXIST
    assert exc.value.errno == errno.EEXIST
    devs.clear()
    assert len(devs) == 0


def test_cpumap_entries_and_errors(redirect: Ebpf) -> None:
    cpus = redirect.map("CPUS", CpuMap)
    counter = loaded(redirect, "cpumap_count")
    assert cpus.max_entries == os.cpu_count()
    cpus.set(0, 128, counter)
    assert cpus[0] == (128, counter.info().id) and list(cpus.indices()) == [0]
    with pytest.raises(ValueError, match="queue size must be at least 1"):
        cpus.set(0, 0)
    with pytest.raises(MapError) as exc:
        cpus.set(0, 64, loaded(redirect, "devmap_echo"))  # loaded for devmap entries
    assert exc.value.errno == errno.ENOMEM and "xdp/cpumap" in str(exc.value)
    with pytest.raises(IndexOutOfBounds):
        cpus.set(cpus.max_entries, 64)
    cpus.clear_index(0)
    with pytest.raises(KeyNotFound):
        cpus.get(0)

    standalone = CpuMap.create(4, 4, 1, name="cpus_small")
    with standalone:
        standalone.set(0, 32)
        assert standalone.get(0) == (32, None)


def test_xskmap_refuses_other_sockets_and_reads(redirect: Ebpf) -> None:
    xsks = redirect.map("XSKS", XskMap)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            pytest.raises(MapError, match="AF_XDP sockets") as exc:
        xsks.set(0, udp)
    assert exc.value.errno == errno.EOPNOTSUPP
    with pytest.raises(MapError, match="does not report the entries of XSKMAP"):
        list(xsks.indices())
    with pytest.raises(MapError, match="does not report"):
        xsks.get(0)
    xsks.clear_index(0)
    with pytest.raises(InvalidMapType):
        XskMap.from_id(redirect.map("DEVS").info().id)


# --- CgroupArray ------------------------------------------------------------------------------

SENDER = r"""
import socket, sys
sys.stdin.readline()
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    for _ in range(int(sys.argv[2])):
        sock.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
"""


def send_from(cgroup: Path, port: int, datagrams: int) -> None:
    """A child process in ``cgroup`` sends ``datagrams`` UDP datagrams to 127.0.0.1:port."""
    child = subprocess.Popen([sys.executable, "-c", SENDER, str(port), str(datagrams)],
                             stdin=subprocess.PIPE, text=True)
    try:
        (cgroup / "cgroup.procs").write_text(str(child.pid))
        child.communicate("go\n", timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0


@pytest.fixture
def sub_cgroups(cgroup: Path) -> Iterator[tuple[Path, Path]]:
    inside, outside = cgroup / "inside", cgroup / "outside"
    inside.mkdir()
    outside.mkdir()
    yield inside, outside
    inside.rmdir()
    outside.rmdir()


@requires(TASK_UNDER_CGROUP_IN_CGROUP_PROGRAMS)
def test_cgroup_array_with_skb_under_cgroup(bpf_object: Callable[[str], Path], cgroup: Path,
                                            sub_cgroups: tuple[Path, Path]) -> None:
    inside, outside = sub_cgroups
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        loader = EbpfLoader().override_global("port", port)
        with loader.load_file(bpf_object("netmap_cgroup")) as ebpf:
            prog = ebpf.program("count_by_cgroup", CgroupSkb)
            prog.load()
            prog.attach(cgroup, CgroupSkbAttachType.EGRESS, CgroupAttachMode.ALLOW_MULTIPLE)
            cgroups = ebpf.map("CGROUPS", CgroupArray)
            counts = ebpf.map("COUNTS", Array)

            cgroups.set(0, inside)
            send_from(inside, port, 3)
            send_from(outside, port, 2)
            assert (counts[0], counts[1]) == (3, 2)

            fd = os.open(outside, os.O_RDONLY | os.O_DIRECTORY)
            try:
                cgroups.set(0, fd)  # now the other one, given as a descriptor
            finally:
                os.close(fd)
            send_from(inside, port, 1)
            send_from(outside, port, 4)
            assert (counts[0], counts[1]) == (7, 3)

            cgroups.clear_index(0)
            send_from(outside, port, 1)
            assert (counts[0], counts[1]) == (7, 4)
            with pytest.raises(KeyNotFound, match="holds no cgroup"):
                cgroups.clear_index(0)
            with pytest.raises(MapError, match="does not report the entries of CGROUP_ARRAY"):
                list(cgroups.indices())
            with pytest.raises(MapError, match="not a cgroup v2 directory"):
                cgroups.set(1, "/tmp")
            with pytest.raises(IndexOutOfBounds):
                cgroups.set(4, inside)


# --- ReusePortSockArray and SkReuseport -------------------------------------------------------


@pytest.fixture
def group() -> Iterator[list[socket.socket]]:
    """Three UDP sockets of one SO_REUSEPORT group on 127.0.0.1."""
    socks: list[socket.socket] = []
    try:
        for _ in range(3):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", socks[0].getsockname()[1] if len(socks) > 1 else 0))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def receivers(group: list[socket.socket], sender: socket.socket, first: int) -> list[int]:
    """Send a datagram whose first byte is ``first``; which sockets of the group got it."""
    sender.sendto(bytes([first]) + b" steered", group[0].getsockname())
    return [i for i, sock in enumerate(group) if receive(sock, 0.3) is not None]


def test_reuseport_steering(bpf_object: Callable[[str], Path],
                            group: list[socket.socket]) -> None:
    with Ebpf.load_file(bpf_object("netmap_reuseport")) as ebpf, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        array = ebpf.map("SOCKETS", ReusePortSockArray)
        runs = ebpf.map("COUNTS", Array)
        for index, sock in enumerate(group):
            array.set(index, sock)
        assert list(array.indices()) == [0, 1, 2]
        assert array.get(1) == int.from_bytes(
            group[1].getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8), sys.byteorder)
        prog = ebpf.program("select_by_first_byte", SkReuseport)
        prog.load()
        prog.attach(group[0])
        for first in (2, 0, 1, 2):
            assert receivers(group, sender, first) == [first]
        assert receivers(group, sender, 3) == []  # SOCKETS[3] is empty: SK_DROP
        assert runs[0] == 5

        array.clear_index(2)
        with pytest.raises(KeyNotFound, match="holds no socket"):
            array.clear_index(2)
        assert receivers(group, sender, 2) == []
        array.set(3, group[2])
        assert receivers(group, sender, 3) == [2]

        SkReuseport.detach(group[1])  # any socket of the group
        assert len(receivers(group, sender, 3)) == 1  # the kernel's hash picks one
        assert runs[0] == 7
        with pytest.raises(ProgramError) as exc:
            SkReuseport.detach(group[0])
        assert exc.value.errno == errno.ENOENT


def test_reuseport_array_errors(bpf_object: Callable[[str], Path],
                                group: list[socket.socket]) -> None:
    with Ebpf.load_file(bpf_object("netmap_reuseport")) as ebpf, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as lone:
        array = ebpf.map("SOCKETS", ReusePortSockArray)
        with pytest.raises(MapError, match="SO_REUSEPORT") as exc:
            array.set(0, lone)  # not bound
        assert exc.value.errno == errno.EINVAL
        array.set(0, group[0])
        with pytest.raises(MapError, match="already in a REUSEPORT_SOCKARRAY"):
            ReusePortSockArray.create(4, 8, 2).set(0, group[0])
        with pytest.raises(KeyNotFound):
            array.get(1)
        with pytest.raises(IndexOutOfBounds):
            array.set(4, group[1])
        narrow = ReusePortSockArray.create(4, 4, 2, name="narrow")
        narrow.set(0, group[1])
        with pytest.raises(MapError, match="8-byte values"):
            list(narrow.indices())
        narrow.close()


# --- ArrayOfMaps and HashOfMaps ---------------------------------------------------------------


def test_maps_of_maps_from_a_program(bpf_object: Callable[[str], Path]) -> None:
    with Ebpf.load_file(bpf_object("netmap_of_maps")) as ebpf:
        arrays = ebpf.map("OUTER_ARRAY", ArrayOfMaps)
        hashes = ebpf.map("OUTER_HASH", HashOfMaps)
        prog = ebpf.program("write_inner", Xdp)
        prog.load()
        frame = udp_packet(b"inner")

        # The object's initial value: OUTER_ARRAY[1] is FIRST_INNER.
        assert list(arrays.indices()) == [1]
        with arrays.get(1) as first:
            assert isinstance(first, Array)
            assert first.info().id == ebpf.map("FIRST_INNER").info().id
        assert prog.test_run(data_in=frame).return_value == XDP_ABORTED  # no inner maps yet

        inner_array = Array.create(4, 8, 4, name="inner_array")
        inner_hash = HashMap.create(4, 8, 8, name="inner_hash")
        arrays.set(0, inner_array)
        hashes[7] = inner_hash
        for _ in range(2):
            assert prog.test_run(data_in=frame).return_value == XDP_PASS
        assert inner_array[0] == inner_hash[1] == 2 * len(frame)

        with hashes[7] as got:
            assert isinstance(got, HashMap) and dict(got.items()) == {1: 2 * len(frame)}
        items = list(hashes.items())
        assert [key for key, _ in items] == [7] and list(hashes.keys()) == [7]
        for _, inner in items:
            inner.close()

        hashes.remove(7)
        with pytest.raises(KeyNotFound):
            hashes.remove(7)
        assert prog.test_run(data_in=frame).return_value == XDP_ABORTED
        arrays.clear_index(0)
        with pytest.raises(KeyNotFound, match="holds no map"):
            arrays.clear_index(0)
        with pytest.raises(MapError) as exc:
            arrays.set(0, inner_hash)  # not like the template (an array)
        assert exc.value.errno == errno.EINVAL
        inner_array.close()
        inner_hash.close()


def test_standalone_maps_of_maps() -> None:
    template = HashMap.create(4, 8, 8, name="template")
    outer = HashOfMaps.create(4, 16, inner_map=template, name="outer")
    other = HashMap.create(4, 8, 8, name="other")
    with template, outer, other:
        assert outer.value_size == 4
        outer.insert(1, other)
        other[5] = 50
        with outer.get(1) as inner:
            assert isinstance(inner, HashMap) and inner.name == "other"
            assert dict(inner.items()) == {5: 50}
        array_outer = ArrayOfMaps.create(4, 2, inner_map=template.fd)
        with array_outer:
            array_outer.set(1, template)
            assert list(array_outer.indices()) == [1]
        with HashMap.create(4, 4, 8) as unlike, pytest.raises(MapError) as exc:
            outer[2] = unlike  # a 4-byte value where the template has 8
        assert exc.value.errno == errno.EINVAL
        assert "inner map must be like the one the outer map was made with" in str(exc.value)
        assert 2 not in outer
    with socket.socket() as not_a_map, pytest.raises(MapError) as exc:
        ArrayOfMaps.create(4, 2, inner_map=not_a_map)
    assert exc.value.errno in (errno.EBADF, errno.EINVAL)


def test_pop_items_of_maps_keeps_inner_maps_nothing_else_holds() -> None:
    template = HashMap.create(4, 8, 8, name="template")
    with template, HashOfMaps.create(4, 4, inner_map=template, name="outer") as outer:
        for k in (1, 2):
            with HashMap.create(4, 8, 8, name=f"inner{k}") as inner:
                inner[k] = k * 10
                outer[k] = inner
        popped = dict(outer.pop_items())  # the outer map held the only references
        assert sorted(popped) == [1, 2] and len(outer) == 0
        for k, inner in popped.items():
            with inner:
                assert inner.name == f"inner{k}" and dict(inner.items()) == {k: k * 10}


def test_inner_maps_come_back_typed_without_the_loader() -> None:
    # A fresh interpreter that imported only of_maps: an inner QUEUE is still a Queue.
    code = """if True:
        from bpf4py._native import bpf
        from bpf4py.maps.of_maps import HashOfMaps
        from bpf4py.types import MapType
        queue = bpf.map_create(MapType.QUEUE, "q", 0, 8, 4)
        outer = HashOfMaps.create(4, 2, inner_map=queue.fd)
        outer[1] = queue.fd
        with outer[1] as inner:
            inner.push(7)
            print(type(inner).__name__, inner.pop())
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["Queue", "7"]
