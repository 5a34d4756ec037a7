// SPDX-License-Identifier: GPL-2.0
/* The smallest programs that tell whether the running kernel has a feature some tests need
 * (tests/kernel_features.py): each is loaded on its own, and only maps every supported kernel
 * can create live here. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} PROBE_SOCKMAP SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} PROBE_CGROUPS SEC(".maps");

/* BPF links for sockmap programs (Linux 6.10): linked to PROBE_SOCKMAP. */
SEC("sk_skb/stream_verdict")
int probe_sk_skb(struct __sk_buff *skb)
{
    return SK_PASS;
}

/* One program attached twice to one raw tracepoint (Linux 6.10). */
SEC("raw_tracepoint/sys_enter")
int probe_raw_tp(void *ctx)
{
    return 0;
}

/* bpf_current_task_under_cgroup() in cgroup_skb programs (Linux 6.16, where the tracing
 * helpers became available to every program type): the verifier refuses it at load time. */
SEC("cgroup_skb/egress")
int probe_task_under_cgroup(struct __sk_buff *skb)
{
    return bpf_current_task_under_cgroup(&PROBE_CGROUPS, 0) >= 0;
}

char LICENSE[] SEC("license") = "GPL";
