// SPDX-License-Identifier: GPL-2.0
/* LPM trie, queue, stack and bloom filter, each driven from a socket filter (test_run).
 * Socket filters see the packet from its IPv4 header on: daddr at 16, the UDP dport at 22. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NO_VALUE 0xffffffff

enum result_slot { ROUTE_SLOT, BLOOM_SLOT, SEQ_SLOT, POPPED_SLOT, SLOTS };

struct ipv4_lpm_key {
    __u32 prefixlen;
    __u32 addr; /* network byte order */
};

struct ipv6_lpm_key {
    __u32 prefixlen;
    __u8 addr[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct ipv4_lpm_key);
    __type(value, __u32);
} ROUTES SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct ipv6_lpm_key);
    __type(value, __u64);
} ROUTES6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLOTS);
    __type(key, __u32);
    __type(value, __u32);
} RESULT SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 16);
    __type(value, __u32);
} EVENTS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __uint(max_entries, 16);
    __type(value, __u32);
} LIFO SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
    __uint(max_entries, 64);
    __uint(map_extra, 3); /* hash functions */
    __type(value, __u32);
} PORTS SEC(".maps");

static void set_result(__u32 slot, __u32 value)
{
    bpf_map_update_elem(&RESULT, &slot, &value, BPF_ANY);
}

/* RESULT[ROUTE_SLOT] = the value of the longest prefix in ROUTES holding the packet's daddr. */
SEC("socket")
int route(struct __sk_buff *skb)
{
    struct ipv4_lpm_key key = {.prefixlen = 32};
    __u32 *value;

    if (bpf_skb_load_bytes(skb, 16, &key.addr, sizeof(key.addr)))
        return 0;
    value = bpf_map_lookup_elem(&ROUTES, &key);
    set_result(ROUTE_SLOT, value ? *value : NO_VALUE);
    return 0;
}

/* Pushes 0, 1, 2, ... (one per run, counted in RESULT[SEQ_SLOT]) on EVENTS and LIFO. */
SEC("socket")
int push_seq(struct __sk_buff *skb)
{
    __u32 slot = SEQ_SLOT, seq, *counter = bpf_map_lookup_elem(&RESULT, &slot);

    if (!counter)
        return 0;
    seq = *counter;
    *counter = seq + 1;
    bpf_map_push_elem(&EVENTS, &seq, 0);
    bpf_map_push_elem(&LIFO, &seq, 0);
    return 0;
}

/* RESULT[POPPED_SLOT] = the value popped from EVENTS, NO_VALUE when it is empty. */
SEC("socket")
int pop_event(struct __sk_buff *skb)
{
    __u32 value;

    set_result(POPPED_SLOT, bpf_map_pop_elem(&EVENTS, &value) ? NO_VALUE : value);
    return 0;
}

/* RESULT[BLOOM_SLOT] = 1 when the UDP destination port may be in PORTS, else 0. */
SEC("socket")
int check_port(struct __sk_buff *skb)
{
    __u16 dport;
    __u32 port;

    if (bpf_skb_load_bytes(skb, 20 + 2, &dport, sizeof(dport)))
        return 0;
    port = bpf_ntohs(dport);
    set_result(BLOOM_SLOT, bpf_map_peek_elem(&PORTS, &port) == 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
