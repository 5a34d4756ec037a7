// SPDX-License-Identifier: GPL-2.0
/* XDP redirects through DevMap, DevMapHash, CpuMap and XskMap (tests/kernel/test_net_maps.py).
 *
 * The `redirect_*` programs redirect IPv4 UDP frames to the global `port` and pass the rest.
 * COUNTS slots: 0 runs of `devmap_echo`, 1 runs of `cpumap_count`, 2 frames `redirect_xsk`
 * redirected, 3 frames `redirect_dev_hash` redirected.
 */
#include "xdp_udp.h"

enum { DEVMAP_PROG, CPUMAP_PROG, XSK, DEV_HASH };

const volatile __u16 port = 0;    /* host byte order */

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} DEVS SEC(".maps");

/* 4-byte values: interfaces without programs. */
struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} DEVS_SMALL SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} DEVS_HASH SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CPUMAP);
    __uint(max_entries, 1);    /* set to the number of CPUs by the test */
    __type(key, __u32);
    __type(value, struct bpf_cpumap_val);
} CPUS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} XSKS SEC(".maps");

/* To DEVS[0], whose entry program (devmap_echo) turns the frame into a reply. */
SEC("xdp")
int redirect_dev(struct xdp_md *ctx)
{
    if (!udp_to_port(ctx, port))
        return XDP_PASS;
    return bpf_redirect_map(&DEVS, 0, 0);
}

/* Turned into a reply here, then out of the interface stored under the ingress ifindex. */
SEC("xdp")
int redirect_dev_hash(struct xdp_md *ctx)
{
    struct ethhdr *eth = udp_to_port(ctx, port);

    if (!eth)
        return XDP_PASS;
    swap_udp(eth);
    bump(DEV_HASH);
    return bpf_redirect_map(&DEVS_HASH, ctx->ingress_ifindex, 0);
}

SEC("xdp/devmap")
int devmap_echo(struct xdp_md *ctx)
{
    struct ethhdr *eth = udp_to_port(ctx, port);

    if (eth) {
        swap_udp(eth);
        bump(DEVMAP_PROG);
    }
    return XDP_PASS;
}

SEC("xdp")
int redirect_cpu(struct xdp_md *ctx)
{
    if (!udp_to_port(ctx, port))
        return XDP_PASS;
    return bpf_redirect_map(&CPUS, 0, 0);
}

/* Runs on CPU 0 for the frames redirect_cpu queued there; they go on to the stack. */
SEC("xdp/cpumap")
int cpumap_count(struct xdp_md *ctx)
{
    if (udp_to_port(ctx, port))
        bump(CPUMAP_PROG);
    return XDP_PASS;
}

/* To the AF_XDP socket of the receive queue; the stack gets the frame when there is none. */
SEC("xdp")
int redirect_xsk(struct xdp_md *ctx)
{
    if (!udp_to_port(ctx, port))
        return XDP_PASS;
    bump(XSK);
    return bpf_redirect_map(&XSKS, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
