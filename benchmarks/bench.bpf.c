// SPDX-License-Identifier: GPL-2.0
/* Maps and programs for benchmarks/run.py: the C baseline and bpf4py use the same ones. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 100000);
    __type(key, __u32);
    __type(value, __u64);
} HASH SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 25);    /* 32 MiB: room for 1M 16-byte records (24 with header) */
} RING SEC(".maps");

__u64 seq = 0;

/* One 16-byte record per run; test_run(repeat=N) fills the ring with N records.  No wake-up:
 * the benchmark drains without waiting. */
SEC("socket")
int fill_ring(struct __sk_buff *skb)
{
    __u64 rec[2] = { seq++, skb->len };

    bpf_ringbuf_output(&RING, rec, sizeof(rec), BPF_RB_NO_WAKEUP);
    return 0;
}

/* For timing one test_run call. */
SEC("socket")
int noop(struct __sk_buff *skb)
{
    return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
