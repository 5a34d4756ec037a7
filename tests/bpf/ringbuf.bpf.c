// SPDX-License-Identifier: GPL-2.0
/* Socket filters that write one ring buffer record per packet, for the RingBuf tests.
 * Every record carries a sequence number shared by all programs, so tests can check order. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct record {
    __u64 seq;
    __u32 len;      /* skb->len */
    __u32 tail;     /* the packet's last 4 bytes (the end of the payload) */
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} EVENTS SEC(".maps");

__u64 seq = 0;
/* Puts struct record into the object's BTF, so readers can say typed("struct record"). */
const struct record *record_type __attribute__((unused));

static __always_inline void fill(struct record *r, struct __sk_buff *skb)
{
    r->seq = __sync_fetch_and_add(&seq, 1);
    r->len = skb->len;
    r->tail = 0;
    if (skb->len >= 4)
        bpf_skb_load_bytes(skb, skb->len - 4, &r->tail, 4);
}

/* bpf_ringbuf_output: copies a record built on the stack. */
SEC("socket")
int output_record(struct __sk_buff *skb)
{
    struct record r;

    fill(&r, skb);
    bpf_ringbuf_output(&EVENTS, &r, sizeof(r), 0);
    return skb->len;
}

/* bpf_ringbuf_reserve + submit, discarding every third record (seq % 3 == 2). */
SEC("socket")
int reserve_record(struct __sk_buff *skb)
{
    struct record *r = bpf_ringbuf_reserve(&EVENTS, sizeof(*r), 0);

    if (!r)
        return skb->len;
    fill(r, skb);
    if (r->seq % 3 == 2)
        bpf_ringbuf_discard(r, 0);
    else
        bpf_ringbuf_submit(r, 0);
    return skb->len;
}

/* Records of 1 to 32 bytes: record n is (n % 32) + 1 bytes, byte i of it is (n + i) & 0xff. */
SEC("socket")
int output_varlen(struct __sk_buff *skb)
{
    __u8 buf[32];
    __u64 n = __sync_fetch_and_add(&seq, 1);
    __u32 size = (n % 32) + 1;

    for (int i = 0; i < 32; i++)
        buf[i] = (n + i) & 0xff;
    bpf_ringbuf_output(&EVENTS, buf, size, 0);
    return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
