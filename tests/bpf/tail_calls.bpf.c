// SPDX-License-Identifier: GPL-2.0
/* Tail calls for tests/kernel/test_program_array.py.
 *
 * `dispatch` (a socket filter) reads the first UDP payload byte of an IPv4 packet and tail-calls
 * JUMP_TABLE[byte].  The targets count into HITS[index] and return their own verdict; when the
 * tail call falls through (empty index, index out of range), `dispatch` counts HITS[FALLTHROUGH]
 * and returns DEFAULT_VERDICT.  A socket filter's verdict is the number of bytes to keep (0
 * drops the packet), so `target_1` drops and the others keep the whole datagram.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FALLTHROUGH 3
#define DEFAULT_VERDICT 0xffff

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} JUMP_TABLE SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} HITS SEC(".maps");

static __always_inline void bump(__u32 slot)
{
    __u64 *v = bpf_map_lookup_elem(&HITS, &slot);
    if (v)
        __sync_fetch_and_add(v, 1);
}

SEC("socket")
int dispatch(struct __sk_buff *skb)
{
    struct iphdr ip;
    __u8 selector;

    if (skb->protocol != bpf_htons(ETH_P_IP))
        return DEFAULT_VERDICT;
    if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
        return DEFAULT_VERDICT;
    /* payload = IP header + 8-byte UDP header */
    if (bpf_skb_load_bytes_relative(skb, ip.ihl * 4 + 8, &selector, 1, BPF_HDR_START_NET))
        return DEFAULT_VERDICT;
    bpf_tail_call(skb, &JUMP_TABLE, selector);
    bump(FALLTHROUGH);
    return DEFAULT_VERDICT;
}

SEC("socket")
int target_0(struct __sk_buff *skb)
{
    bump(0);
    return 1000;
}

SEC("socket")
int target_1(struct __sk_buff *skb)
{
    bump(1);
    return 0;
}

SEC("socket")
int target_2(struct __sk_buff *skb)
{
    bump(2);
    return 1002;
}

char LICENSE[] SEC("license") = "GPL";
