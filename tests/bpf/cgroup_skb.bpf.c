// SPDX-License-Identifier: GPL-2.0
/* cgroup_skb programs for tests/kernel/test_cgroup_skb.py.
 *
 * COUNTS[slot] counts IPv4 packets whose port matches the global `port`:
 *   egress programs match the destination port, ingress programs the source port (so the
 *   replies of a server on `port` count as ingress of the client cgroup).
 * Slots: 0 egress UDP, 1 ingress UDP, 2 egress TCP, 3 ingress TCP,
 *        4 `multi_a`, 5 `multi_b` (both egress), 6 `generic` (cgroup/skb, either direction).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} COUNTS SEC(".maps");

const volatile __u16 port = 0;    /* host byte order; 0 matches nothing */

enum { EGRESS_UDP, INGRESS_UDP, EGRESS_TCP, INGRESS_TCP, MULTI_A, MULTI_B, GENERIC };

static __always_inline void bump(__u32 slot)
{
    __u64 *v = bpf_map_lookup_elem(&COUNTS, &slot);
    if (v)
        __sync_fetch_and_add(v, 1);
}

/* The IP protocol (IPPROTO_UDP/TCP) when the packet's source (want_src) or destination port is
 * `port`, else 0.  cgroup_skb data starts at the network header. */
static __always_inline int match(struct __sk_buff *skb, int want_src)
{
    struct iphdr ip;
    __u16 ports[2];

    if (!port || skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
        return 0;
    if (ip.protocol != IPPROTO_UDP && ip.protocol != IPPROTO_TCP)
        return 0;
    if (bpf_skb_load_bytes(skb, ip.ihl * 4, ports, sizeof(ports)))
        return 0;
    return bpf_ntohs(ports[want_src ? 0 : 1]) == port ? ip.protocol : 0;
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
    int proto = match(skb, 0);

    if (proto)
        bump(proto == IPPROTO_UDP ? EGRESS_UDP : EGRESS_TCP);
    return 1;
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
    int proto = match(skb, 1);

    if (proto)
        bump(proto == IPPROTO_UDP ? INGRESS_UDP : INGRESS_TCP);
    return 1;
}

/* Drops every packet to `port` leaving the cgroup. */
SEC("cgroup_skb/egress")
int drop_egress(struct __sk_buff *skb)
{
    return match(skb, 0) ? 0 : 1;
}

SEC("cgroup_skb/egress")
int multi_a(struct __sk_buff *skb)
{
    if (match(skb, 0))
        bump(MULTI_A);
    return 1;
}

SEC("cgroup_skb/egress")
int multi_b(struct __sk_buff *skb)
{
    if (match(skb, 0))
        bump(MULTI_B);
    return 1;
}

/* No expected attach type: attachable to ingress or egress. */
SEC("cgroup/skb")
int generic(struct __sk_buff *skb)
{
    if (match(skb, 0) || match(skb, 1))
        bump(GENERIC);
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
