// SPDX-License-Identifier: GPL-2.0
/* The demo's program (python -m bpf4py.demo), also driven by the tests.
 * A socket filter that counts packets and bytes per IP protocol, and drops the protocol
 * named by the global `drop_protocol` (0: drop nothing). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/if_packet.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct counters {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);              /* IP protocol number */
    __type(value, struct counters);
} COUNTS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);            /* [0] packets seen, [1] packets dropped */
} TOTALS SEC(".maps");

const volatile __u32 drop_protocol = 0;

static __always_inline void bump(__u32 index)
{
    __u64 *slot = bpf_map_lookup_elem(&TOTALS, &index);
    if (slot)
        __sync_fetch_and_add(slot, 1);
}

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
    __u8 proto = 0;
    __u32 key;
    struct counters *c, fresh = {};

    /* A packet socket on loopback sees each packet leave and arrive: count arrivals only. */
    if (skb->pkt_type == PACKET_OUTGOING)
        return skb->len;
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return skb->len;
    if (bpf_skb_load_bytes_relative(skb, offsetof(struct iphdr, protocol), &proto, 1,
                                    BPF_HDR_START_NET))
        return skb->len;
    key = proto;
    c = bpf_map_lookup_elem(&COUNTS, &key);
    if (!c) {
        bpf_map_update_elem(&COUNTS, &key, &fresh, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&COUNTS, &key);
        if (!c)
            return skb->len;
    }
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, skb->len);
    bump(0);
    if (drop_protocol && proto == drop_protocol) {
        bump(1);
        return 0;
    }
    return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
