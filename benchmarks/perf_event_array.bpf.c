// SPDX-License-Identifier: GPL-2.0
/* The perf event array of benchmarks/perf_event_array.py: the C baseline and bpf4py drain
 * the same map, filled by the same program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} PERF SEC(".maps");

__u64 seq = 0;

/* One 16-byte record per run on the current CPU's ring (32 bytes there with the perf
 * header); test_run(repeat=N) writes N records. */
SEC("socket")
int fill_perf(struct __sk_buff *skb)
{
    __u64 rec[2] = { seq++, skb->len };

    bpf_perf_event_output(skb, &PERF, BPF_F_CURRENT_CPU, rec, sizeof(rec));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
