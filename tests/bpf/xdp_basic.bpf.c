// SPDX-License-Identifier: GPL-2.0
/* XDP programs for tests/kernel/test_xdp.py.
 *
 * Every program matches IPv4 UDP frames to the global `port` (0 matches nothing); the others
 * pass.  COUNTS[slot] counts the matches: 0 `count_udp`, 1 `drop_udp`, 2 `echo_udp`.
 */
#include "xdp_udp.h"

const volatile __u16 port = 0;    /* host byte order */

enum { COUNT, DROP, ECHO };

SEC("xdp")
int count_udp(struct xdp_md *ctx)
{
    if (udp_to_port(ctx, port))
        bump(COUNT);
    return XDP_PASS;
}

SEC("xdp")
int drop_udp(struct xdp_md *ctx)
{
    if (!udp_to_port(ctx, port))
        return XDP_PASS;
    bump(DROP);
    return XDP_DROP;
}

/* Send each datagram back to its sender (XDP_TX). */
SEC("xdp")
int echo_udp(struct xdp_md *ctx)
{
    struct ethhdr *eth = udp_to_port(ctx, port);

    if (!eth)
        return XDP_PASS;
    swap_udp(eth);
    bump(ECHO);
    return XDP_TX;
}

/* Loaded for DevMap entries: not attachable to an interface. */
SEC("xdp/devmap")
int devmap_pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
