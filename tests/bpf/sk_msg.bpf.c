// SPDX-License-Identifier: GPL-2.0
/* SK_MSG programs for the sockmap tests: a verdict that counts messages and bytes per local
 * port, one that drops every message, and one that redirects to another socket of the hash. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_SOCKHASH);
    __uint(max_entries, 8);
    __type(key, __u32);              /* local port of the socket */
    __type(value, __u64);            /* 8-byte values: user-space lookups return cookies */
} INTERCEPT_EGRESS SEC(".maps");

struct counters {
    __u64 messages;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);              /* local port of the sending socket */
    __type(value, struct counters);
} COUNTS SEC(".maps");

/* Key (local port) in INTERCEPT_EGRESS of the socket redirect_msg sends the data out of. */
const volatile __u32 redirect_port = 0;

SEC("sk_msg")
int count_msg(struct sk_msg_md *msg)
{
    __u32 port = msg->local_port;
    struct counters *c, fresh = {};

    c = bpf_map_lookup_elem(&COUNTS, &port);
    if (!c) {
        bpf_map_update_elem(&COUNTS, &port, &fresh, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&COUNTS, &port);
        if (!c)
            return SK_PASS;
    }
    __sync_fetch_and_add(&c->messages, 1);
    __sync_fetch_and_add(&c->bytes, msg->size);
    return SK_PASS;
}

SEC("sk_msg")
int drop_msg(struct sk_msg_md *msg)
{
    return SK_DROP;
}

SEC("sk_msg")
int redirect_msg(struct sk_msg_md *msg)
{
    __u32 key = redirect_port;

    return bpf_msg_redirect_hash(msg, &INTERCEPT_EGRESS, &key, 0);
}

char LICENSE[] SEC("license") = "GPL";
