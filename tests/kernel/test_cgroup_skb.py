"""CgroupSkb on real traffic (tests/bpf/cgroup_skb.bpf.c).

A child Python process is moved into the test's cgroup (its pid written to cgroup.procs; the
pytest process stays where it is) and talks UDP and TCP to servers in the pytest process on
127.0.0.1.  The programs count packets to/from the servers' port into COUNTS.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpf4py import (
    Array,
    BpfError,
    ClosedError,
    Ebpf,
    EbpfLoader,
    FdLink,
    LinkError,
    NotLoadedError,
    PinnedLink,
    ProgramError,
    loaded_links,
)
from bpf4py.links import ProgAttachLink
from bpf4py.programs.cgroup import CgroupAttachMode
from bpf4py.programs.cgroup_skb import CgroupSkb, CgroupSkbAttachType
from tests.packets import udp_packet

from ..conftest import open_fd_count

EGRESS, INGRESS = CgroupSkbAttachType.EGRESS, CgroupSkbAttachType.INGRESS
SINGLE, OVERRIDE, MULTI = (CgroupAttachMode.SINGLE, CgroupAttachMode.ALLOW_OVERRIDE,
                           CgroupAttachMode.ALLOW_MULTIPLE)
by_modes = pytest.mark.parametrize("mode", [SINGLE, MULTI], ids=["single", "multiple"])
# COUNTS slots (see the .bpf.c)
EGRESS_UDP, INGRESS_UDP, EGRESS_TCP, INGRESS_TCP, MULTI_A, MULTI_B, GENERIC = range(7)

# Runs in the cgroup: waits for "go" on stdin, sends UDP datagrams to the server and reads
# their echoes, optionally connects over TCP and sends a line; reports what happened.
CHILD = r"""
import socket, sys
sys.stdin.readline()
port, datagrams, tcp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
report = []
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(2.0)
sent = echoed = 0
for i in range(datagrams):
    try:
        udp.sendto(b"ping %d" % i, ("127.0.0.1", port))
        sent += 1
    except OSError as exc:
        report.append("udp-error %s" % exc.errno)
        break
for i in range(sent):
    udp.recv(64)
    echoed += 1
report.append("udp %d %d" % (sent, echoed))
if tcp:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"hello\n")
        report.append("tcp ok")
    except OSError as exc:
        report.append("tcp-error %s" % (exc.errno or type(exc).__name__))
print("\n".join(report))
"""


@dataclass
class Servers:
    """A UDP echo server and a TCP listener on one port, in the pytest process."""

    udp: socket.socket
    tcp: socket.socket
    port: int


@pytest.fixture
def servers() -> Iterator[Servers]:
    for _ in range(20):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            tcp.close()
            udp.close()
            continue
        tcp.listen(16)
        udp.settimeout(2.0)
        try:
            yield Servers(udp, tcp, port)
        finally:
            udp.close()
            tcp.close()
        return
    pytest.fail("no port free for both UDP and TCP")


@pytest.fixture
def ebpf(bpf_object: Callable[[str], Path], servers: Servers, cgroup: Path) -> Iterator[Ebpf]:
    """The object, with ``port`` set; closed (detaching everything) before the cgroup goes."""
    loaded = EbpfLoader().override_global("port", servers.port).load_file(
        bpf_object("cgroup_skb"))
    with loaded:
        yield loaded


def program(ebpf: Ebpf, name: str) -> CgroupSkb:
    prog = ebpf.program(name, CgroupSkb)
    prog.load()
    return prog


def counts(ebpf: Ebpf) -> list[int]:
    table = ebpf.map("COUNTS", Array)
    return [table[i] for i in range(7)]


def traffic(cgroup: Path, servers: Servers, datagrams: int = 2, tcp: bool = False,
            echo: bool = True) -> list[str]:
    """Run the child in ``cgroup``, echo its datagrams (if ``echo``); return its report."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(servers.port), str(datagrams), "1" if tcp else "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        (cgroup / "cgroup.procs").write_text(str(child.pid))
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        for _ in range(datagrams if echo else 0):
            data, peer = servers.udp.recvfrom(64)
            servers.udp.sendto(data, peer)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    return out.splitlines()


def program_links(prog: CgroupSkb) -> list[int]:
    """Ids of the kernel's BPF links running ``prog``."""
    prog_id = prog.info().id
    return [info.id for info in loaded_links() if info.program_id == prog_id]


# --- counting real traffic ---------------------------------------------------------------


@by_modes
def test_counts_ingress_and_egress_of_the_cgroup_only(ebpf: Ebpf, cgroup: Path,
                                                      servers: Servers,
                                                      mode: CgroupAttachMode) -> None:
    program(ebpf, "count_egress").attach(cgroup, EGRESS, mode)
    program(ebpf, "count_ingress").attach(str(cgroup), INGRESS, mode)
    # Traffic of the pytest process (not in the cgroup) to the same port is not counted.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outsider:
        outsider.sendto(b"outside", ("127.0.0.1", servers.port))
        assert servers.udp.recv(64) == b"outside"
    assert traffic(cgroup, servers, datagrams=5, tcp=True) == ["udp 5 5", "tcp ok"]
    found = counts(ebpf)
    assert found[EGRESS_UDP] == 5
    assert found[INGRESS_UDP] == 5  # the echoes
    assert found[EGRESS_TCP] >= 3   # SYN, ACK, data, FIN
    assert found[INGRESS_TCP] >= 1  # SYN-ACK, ACKs


def test_dropping_egress_program_blocks_traffic_until_detached(ebpf: Ebpf, cgroup: Path,
                                                              servers: Servers) -> None:
    prog = program(ebpf, "drop_egress")
    link_id = prog.attach(cgroup, EGRESS)
    report = traffic(cgroup, servers, datagrams=0, tcp=True)
    assert report[-1].startswith("tcp-error"), report
    prog.detach(link_id)
    assert traffic(cgroup, servers, datagrams=1, tcp=True) == ["udp 1 1", "tcp ok"]


def test_dropped_udp_send_fails_with_eperm(ebpf: Ebpf, cgroup: Path, servers: Servers) -> None:
    program(ebpf, "drop_egress").attach(cgroup, EGRESS, MULTI)
    report = traffic(cgroup, servers, datagrams=1, echo=False)
    assert report == [f"udp-error {errno.EPERM}", "udp 0 0"]


def test_allow_multiple_runs_every_program(ebpf: Ebpf, cgroup: Path, servers: Servers) -> None:
    a, b = program(ebpf, "multi_a"), program(ebpf, "multi_b")
    a.attach(cgroup, EGRESS, MULTI)
    b.attach(cgroup, EGRESS, MULTI)
    traffic(cgroup, servers, datagrams=3)
    found = counts(ebpf)
    assert (found[MULTI_A], found[MULTI_B]) == (3, 3)


@pytest.fixture
def sub_cgroup(cgroup: Path, ebpf: Ebpf) -> Iterator[Path]:
    sub = cgroup / "sub"
    sub.mkdir()
    yield sub
    ebpf.close()  # detach before the cgroup goes
    sub.rmdir()


def test_allow_override_lets_a_descendant_replace_the_program(ebpf: Ebpf, cgroup: Path,
                                                              sub_cgroup: Path,
                                                              servers: Servers) -> None:
    program(ebpf, "count_egress").attach(cgroup, EGRESS, OVERRIDE)
    traffic(sub_cgroup, servers, datagrams=2)
    assert counts(ebpf)[EGRESS_UDP] == 2  # inherited by the descendant
    program(ebpf, "multi_a").attach(sub_cgroup, EGRESS, OVERRIDE)
    traffic(sub_cgroup, servers, datagrams=2)
    found = counts(ebpf)
    assert (found[EGRESS_UDP], found[MULTI_A]) == (2, 2)  # overridden in the descendant


def test_single_forbids_attachments_below_and_modes_do_not_mix(ebpf: Ebpf, cgroup: Path,
                                                               sub_cgroup: Path) -> None:
    program(ebpf, "count_egress").attach(cgroup, EGRESS, SINGLE)
    multi_a = program(ebpf, "multi_a")
    with pytest.raises(LinkError, match="multi_a") as below:
        multi_a.attach(sub_cgroup, EGRESS, MULTI)
    assert below.value.errno_name == "EPERM"
    assert below.value.hint is not None and "another mode" in below.value.hint
    with pytest.raises(ProgramError) as beside:
        program(ebpf, "multi_b").attach(cgroup, EGRESS, OVERRIDE)
    assert beside.value.errno_name == "EPERM"


def test_single_mode_has_one_slot(ebpf: Ebpf, cgroup: Path, servers: Servers) -> None:
    """Kernel semantics of BPF_PROG_ATTACH without ALLOW_MULTI: another SINGLE program
    replaces the first; detaching the first then finds the slot empty, which counts as
    already detached (unload() and Ebpf.close() must not fail on it)."""
    first, second = program(ebpf, "count_egress"), program(ebpf, "multi_a")
    first_id = first.attach(cgroup, EGRESS, SINGLE)
    second.detach(second.attach(cgroup, EGRESS, SINGLE))
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[EGRESS_UDP] == 0
    first.detach(first_id)
    with pytest.raises(LinkError, match="no link"):
        first.detach(first_id)


# --- the four ways an attachment ends -----------------------------------------------------


def _detach(prog: CgroupSkb, link_id: object) -> None:
    prog.detach(link_id)  # type: ignore[arg-type]


def _unload(prog: CgroupSkb, link_id: object) -> None:
    prog.unload()


def _close_taken(prog: CgroupSkb, link_id: object) -> None:
    prog.take_link(link_id).close()  # type: ignore[arg-type]


def _with_taken(prog: CgroupSkb, link_id: object) -> None:
    with prog.take_link(link_id) as link:  # type: ignore[arg-type]
        assert link.attached


@by_modes
@pytest.mark.parametrize("end", [_detach, _unload, _close_taken, _with_taken])
def test_ending_the_attachment_stops_the_program(ebpf: Ebpf, cgroup: Path, servers: Servers,
                                                 end: Callable[[CgroupSkb, object], None],
                                                 mode: CgroupAttachMode) -> None:
    prog = program(ebpf, "count_egress")
    link_id = prog.attach(cgroup, EGRESS, mode)
    kernel_links = program_links(prog)
    assert len(kernel_links) == (1 if mode is MULTI else 0)
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[EGRESS_UDP] == 2
    end(prog, link_id)
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[EGRESS_UDP] == 2
    assert not set(kernel_links) & {info.id for info in loaded_links()}


def test_link_kinds_follow_the_mode(ebpf: Ebpf, cgroup: Path) -> None:
    prog = program(ebpf, "generic")
    with prog.take_link(prog.attach(cgroup, EGRESS, MULTI)) as multi:
        assert isinstance(multi, FdLink)
        assert multi.info().program_id == prog.info().id
    with prog.take_link(prog.attach(cgroup, EGRESS, SINGLE)) as single:
        assert isinstance(single, ProgAttachLink)


def test_pinned_link_outlives_the_program_and_is_adopted(ebpf: Ebpf, cgroup: Path,
                                                        servers: Servers, bpffs: Path) -> None:
    prog = program(ebpf, "count_egress")
    link = prog.take_link(prog.attach(cgroup, EGRESS, MULTI))
    assert isinstance(link, FdLink)
    link_id = link.info().id
    path = bpffs / "egress_link"
    link.pin(path).close()
    table = ebpf.take_map("COUNTS")
    assert isinstance(table, Array)
    try:
        ebpf.close()  # the program's descriptor goes; the pinned link keeps it running
        traffic(cgroup, servers, datagrams=2)
        assert table[EGRESS_UDP] == 2
        adopted = PinnedLink.from_pin(path)
        assert adopted.info().id == link_id
        adopted.unpin().detach()
        assert not path.exists()
        assert link_id not in {info.id for info in loaded_links()}
        traffic(cgroup, servers, datagrams=2)
        assert table[EGRESS_UDP] == 2
    finally:
        table.close()


# --- expected attach type and pins -------------------------------------------------------


def test_expected_attach_type_from_the_section(ebpf: Ebpf) -> None:
    assert ebpf.program("count_ingress", CgroupSkb).expected_attach_type is INGRESS
    assert ebpf.program("count_egress", CgroupSkb).expected_attach_type is EGRESS
    assert ebpf.program("generic", CgroupSkb).expected_attach_type is None


def test_generic_program_attaches_to_both_directions(ebpf: Ebpf, cgroup: Path,
                                                     servers: Servers) -> None:
    prog = program(ebpf, "generic")
    prog.attach(cgroup, EGRESS, MULTI)
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[GENERIC] == 2
    prog.attach(cgroup, INGRESS, MULTI)
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[GENERIC] == 2 + 4  # sends and echoes


def test_attach_type_mismatch_is_refused(ebpf: Ebpf, cgroup: Path) -> None:
    prog = program(ebpf, "count_ingress")
    with pytest.raises(ProgramError, match="count_ingress.*to egress.*loaded for ingress"):
        prog.attach(cgroup, EGRESS)


def test_from_pin_takes_the_expected_attach_type(ebpf: Ebpf, cgroup: Path, servers: Servers,
                                                 bpffs: Path) -> None:
    program(ebpf, "count_egress").pin(bpffs / "prog")
    with CgroupSkb.from_pin(bpffs / "prog", EGRESS) as pinned:
        assert pinned.expected_attach_type is EGRESS
        with pytest.raises(ProgramError, match="loaded for egress"):
            pinned.attach(cgroup, INGRESS)
        pinned.attach(cgroup, EGRESS, MULTI)
        traffic(cgroup, servers, datagrams=1)
        assert counts(ebpf)[EGRESS_UDP] == 1
    with CgroupSkb.from_pin(bpffs / "prog", None) as generic:
        assert generic.expected_attach_type is None
    (bpffs / "prog").unlink()


def test_test_run(ebpf: Ebpf, servers: Servers) -> None:
    def packet(dport: int) -> bytes:
        return udp_packet(b"ping", sport=40000, dport=dport)

    count, drop = program(ebpf, "count_egress"), program(ebpf, "drop_egress")
    assert count.test_run(data_in=packet(servers.port)).return_value == 1
    assert count.test_run(data_in=packet(servers.port ^ 1)).return_value == 1
    assert counts(ebpf)[EGRESS_UDP] == 1
    assert drop.test_run(data_in=packet(servers.port)).return_value == 0
    assert drop.test_run(data_in=packet(servers.port ^ 1)).return_value == 1


# --- bad input: nothing half-attached, nothing left open ---------------------------------


def test_unloaded_program_is_refused(ebpf: Ebpf, cgroup: Path) -> None:
    with pytest.raises(NotLoadedError, match="count_egress"):
        ebpf.program("count_egress", CgroupSkb).attach(cgroup, EGRESS)


@pytest.mark.parametrize("target", ["/tmp", "/sys/fs/cgroup/cpu", "/proc"])
def test_path_that_is_not_a_cgroup2_directory_is_refused(ebpf: Ebpf, target: str) -> None:
    if not os.path.isdir(target):
        pytest.skip(f"{target} does not exist here")
    with pytest.raises(ProgramError, match=f"{target} is not a cgroup v2 directory"):
        program(ebpf, "count_egress").attach(target, EGRESS)


def test_missing_or_non_directory_cgroup_paths(ebpf: Ebpf, cgroup: Path) -> None:
    prog = program(ebpf, "count_egress")
    with pytest.raises(FileNotFoundError, match="nope"):
        prog.attach(cgroup / "nope", EGRESS)
    with pytest.raises(FileNotFoundError, match="/nonexistent-cgroup"):  # not "on ext4"
        prog.attach("/nonexistent-cgroup", EGRESS)
    with pytest.raises(ProgramError, match="cgroup.procs") as info:
        prog.attach(cgroup / "cgroup.procs", EGRESS)
    assert info.value.errno_name == "ENOTDIR"


def test_descriptors(ebpf: Ebpf, cgroup: Path, servers: Servers) -> None:
    prog = program(ebpf, "count_egress")
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    os.close(fd)
    with pytest.raises(ProgramError, match=f"cgroup fd {fd} is not open") as closed:
        prog.attach(fd, EGRESS)
    assert closed.value.errno_name == "EBADF"
    other = os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(LinkError, match="EBADF") as wrong:
            prog.attach(other, EGRESS, MULTI)
        assert wrong.value.hint is not None and "not a cgroup v2 directory" in wrong.value.hint
    finally:
        os.close(other)
    with open(__file__) as regular, pytest.raises(ProgramError, match="not a directory"):
        prog.attach(regular, EGRESS)

    class Closed:
        def fileno(self) -> int:
            raise ValueError("I/O operation on closed file")

    with pytest.raises(ClosedError, match="cgroup descriptor is not usable"):
        prog.attach(Closed(), EGRESS)
    good = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        prog.attach(good, EGRESS)  # the caller's descriptor stays open and theirs
        os.fstat(good)
    finally:
        os.close(good)
    traffic(cgroup, servers, datagrams=1)
    assert counts(ebpf)[EGRESS_UDP] == 1


@by_modes
def test_attaching_twice_is_refused_and_leaves_one_attachment(ebpf: Ebpf, cgroup: Path,
                                                              servers: Servers,
                                                              mode: CgroupAttachMode) -> None:
    prog = program(ebpf, "count_egress")
    link_id = prog.attach(cgroup, EGRESS, mode)
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for again in (cgroup, str(cgroup) + "/", fd):
            with pytest.raises(LinkError, match="already attached"):
                prog.attach(again, EGRESS, mode)
    finally:
        os.close(fd)
    assert len(program_links(prog)) == (1 if mode is MULTI else 0)
    traffic(cgroup, servers, datagrams=2)
    assert counts(ebpf)[EGRESS_UDP] == 2  # ran once per packet
    taken = prog.take_link(link_id)
    with pytest.raises(LinkError, match="already attached"):
        prog.attach(cgroup, EGRESS, mode)  # a taken link still counts while attached
    taken.close()
    prog.detach(prog.attach(cgroup, EGRESS, mode))  # free again


def test_failed_attaches_leave_nothing_open_or_attached(ebpf: Ebpf, cgroup: Path,
                                                       sub_cgroup: Path) -> None:
    prog = program(ebpf, "count_egress")
    blocker = program(ebpf, "multi_a")
    blocker.attach(cgroup, EGRESS, SINGLE)
    before = open_fd_count()
    failing = [(bad, mode) for bad in ("/tmp", cgroup / "nope", sub_cgroup)
               for mode in (SINGLE, OVERRIDE, MULTI)]
    failing += [(cgroup, OVERRIDE), (cgroup, MULTI)]  # modes do not mix (SINGLE would replace)
    for bad, mode in failing:
        with pytest.raises(BpfError):
            prog.attach(bad, EGRESS, mode)
    assert open_fd_count() == before
    assert program_links(prog) == []
    blocker.unload()
    prog.attach(cgroup, EGRESS, MULTI)  # nothing of the failed attempts is in the way
