// SPDX-License-Identifier: GPL-2.0
/* Raw tracepoint programs for the RawTracePoint tests. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Set by the test before load: its own process and the getppid syscall number. */
const volatile __u32 target_tgid = 0;
const volatile __s64 target_nr = -1;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} CALLS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} SEEN SEC(".maps");

/* sys_enter(struct pt_regs *regs, long id): count the target's getppid calls. */
SEC("raw_tracepoint/sys_enter")
int count_getppid(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 key = 0;
    __u64 *calls;

    if (bpf_get_current_pid_tgid() >> 32 != target_tgid || (__s64)ctx->args[1] != target_nr)
        return 0;
    calls = bpf_map_lookup_elem(&CALLS, &key);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    return 0;
}

/* For test_run: records args[0..2] and the caller's tgid, returns args[0] + args[1]. */
SEC("raw_tp")
int record_args(struct bpf_raw_tracepoint_args *ctx)
{
    __u64 a0 = ctx->args[0], a1 = ctx->args[1], a2 = ctx->args[2];
    __u64 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3;

    bpf_map_update_elem(&SEEN, &k0, &a0, BPF_ANY);
    bpf_map_update_elem(&SEEN, &k1, &a1, BPF_ANY);
    bpf_map_update_elem(&SEEN, &k2, &a2, BPF_ANY);
    bpf_map_update_elem(&SEEN, &k3, &tgid, BPF_ANY);
    return a0 + a1;
}

char LICENSE[] SEC("license") = "GPL";
