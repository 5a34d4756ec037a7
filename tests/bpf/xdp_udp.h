/* What the XDP test programs (xdp_*.bpf.c, netmap_*.bpf.c) share. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Counters the programs bump; each test program file says what its slots count. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} COUNTS SEC(".maps");

static __always_inline void bump(__u32 slot)
{
    __u64 *v = bpf_map_lookup_elem(&COUNTS, &slot);
    if (v)
        __sync_fetch_and_add(v, 1);
}

/* The Ethernet header of an IPv4 UDP frame (IP header without options) to port `dport`
 * (host byte order; 0 matches nothing), else NULL. */
static __always_inline struct ethhdr *udp_to_port(struct xdp_md *ctx, __u16 dport)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + sizeof(*eth);
    struct udphdr *udp = (void *)ip + sizeof(*ip);

    if ((void *)(udp + 1) > end || !dport)
        return NULL;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
        return NULL;
    return udp->dest == bpf_htons(dport) ? eth : NULL;
}

/* Turn the frame `eth` (checked by udp_to_port) into the reply of its sender: swap MACs, IP
 * addresses and ports.  The checksums stay valid: their sums do not depend on the order. */
static __always_inline void swap_udp(struct ethhdr *eth)
{
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    unsigned char mac[ETH_ALEN];
    __be32 addr;
    __be16 p;

    __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
    addr = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = addr;
    p = udp->source;
    udp->source = udp->dest;
    udp->dest = p;
}
