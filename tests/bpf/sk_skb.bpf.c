// SPDX-License-Identifier: GPL-2.0
/* SK_SKB programs for the sockmap tests: stream verdicts that redirect, drop or count,
 * a stream parser that cuts the stream into fixed-size messages, and an "sk_skb/verdict"
 * program (the parser-less verdict attach type). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);            /* 8-byte values: user-space lookups return cookies */
} SOCK_MAP SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);            /* [0] messages seen, [1] bytes seen */
} COUNTS SEC(".maps");

/* Index in SOCK_MAP of the socket redirect_verdict sends the data out of. */
const volatile __u32 redirect_index = 1;
/* Message size the stream parser cuts the stream into. */
const volatile __u32 message_size = 4;

static __always_inline void count(__u32 len)
{
    __u32 key = 0;
    __u64 *slot = bpf_map_lookup_elem(&COUNTS, &key);

    if (slot)
        __sync_fetch_and_add(slot, 1);
    key = 1;
    slot = bpf_map_lookup_elem(&COUNTS, &key);
    if (slot)
        __sync_fetch_and_add(slot, len);
}

SEC("sk_skb/stream_verdict")
int redirect_verdict(struct __sk_buff *skb)
{
    count(skb->len);
    return bpf_sk_redirect_map(skb, &SOCK_MAP, redirect_index, 0);
}

SEC("sk_skb/stream_verdict")
int drop_verdict(struct __sk_buff *skb)
{
    count(skb->len);
    return SK_DROP;
}

SEC("sk_skb/stream_verdict")
int count_verdict(struct __sk_buff *skb)
{
    count(skb->len);
    return SK_PASS;
}

SEC("sk_skb/stream_parser")
int fixed_parser(struct __sk_buff *skb)
{
    return message_size;
}

SEC("sk_skb/verdict")
int count_any_verdict(struct __sk_buff *skb)
{
    count(skb->len);
    return SK_PASS;
}

SEC("sk_skb")
int untyped_verdict(struct __sk_buff *skb)
{
    return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
