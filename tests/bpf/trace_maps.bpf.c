// SPDX-License-Identifier: GPL-2.0
/* Programs for the tracing/storage map tests: StackTraceMap, TaskStorage, SkStorage,
 * InodeStorage, UserRingBuf (CgrpStorage, Linux 6.2, is in trace_cgrp_storage.bpf.c so that
 * the rest loads on older kernels). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define F_USER_STACK (1ULL << 8)   /* BPF_F_USER_STACK */
#define F_CREATE 1                  /* BPF_LOCAL_STORAGE_GET_F_CREATE */

/* Set by the tests before load: their own process and the getppid syscall number. */
const volatile __u32 target_tgid = 0;
const volatile __s64 target_nr = -1;

/* --- StackTraceMap ----------------------------------------------------------------------- */

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, 64);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, 127 * sizeof(__u64));
} STACKS SEC(".maps");

/* User stacks in a map of their own: in one map, a user stack whose hash lands in the kernel
 * stack's bucket would be refused (-EEXIST). */
struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, 64);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, 127 * sizeof(__u64));
} USER_STACKS SEC(".maps");

/* [0]: the kernel stack id of the target's last getppid, [1]: its user stack id. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __s64);
} STACK_IDS SEC(".maps");

static __always_inline int is_target_getppid(struct bpf_raw_tracepoint_args *ctx)
{
    return (bpf_get_current_pid_tgid() >> 32) == target_tgid &&
           (__s64)ctx->args[1] == target_nr;
}

SEC("raw_tracepoint/sys_enter")
int record_stack(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 k0 = 0, k1 = 1;
    __s64 kernel_id, user_id;

    if (!is_target_getppid(ctx))
        return 0;
    kernel_id = bpf_get_stackid(ctx, &STACKS, 0);
    user_id = bpf_get_stackid(ctx, &USER_STACKS, F_USER_STACK);
    bpf_map_update_elem(&STACK_IDS, &k0, &kernel_id, BPF_ANY);
    bpf_map_update_elem(&STACK_IDS, &k1, &user_id, BPF_ANY);
    return 0;
}

/* --- TaskStorage: getppid calls per task of the target process ------------------------- */

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u64);
} TASK_CALLS SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_task_calls(struct bpf_raw_tracepoint_args *ctx)
{
    __u64 *calls;

    if (!is_target_getppid(ctx))
        return 0;
    calls = bpf_task_storage_get(&TASK_CALLS, bpf_get_current_task_btf(), 0, F_CREATE);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    return 0;
}

/* --- SkStorage: packets and bytes sent per socket of a cgroup -------------------------- */

struct sk_stats {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct sk_stats);
} SK_STATS SEC(".maps");

SEC("cgroup_skb/egress")
int count_socket_egress(struct __sk_buff *skb)
{
    struct bpf_sock *sk = skb->sk;
    struct sk_stats *stats;

    if (!sk)
        return 1;
    sk = bpf_sk_fullsock(sk);
    if (!sk)
        return 1;
    stats = bpf_sk_storage_get(&SK_STATS, sk, 0, F_CREATE);
    if (stats) {
        __sync_fetch_and_add(&stats->packets, 1);
        __sync_fetch_and_add(&stats->bytes, skb->len);
    }
    return 1;
}

/* --- InodeStorage (written from user space in the tests: see test_trace_maps.py) ----- */

struct {
    __uint(type, BPF_MAP_TYPE_INODE_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u64);
} INODE_TAGS SEC(".maps");

/* --- UserRingBuf: drained by a raw tracepoint program run with test_run ----------------- */

struct {
    __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
    __uint(max_entries, 4096);
} REQUESTS SEC(".maps");

/* [0]: samples drained, [1]: the sum of their first 8 bytes, [2]: samples under 8 bytes,
 * [3]: the first 8 bytes of the last sample (the order check). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} DRAINED SEC(".maps");

struct drain_state {
    __u64 count;
    __u64 sum;
    __u64 short_samples;
    __u64 last;
};

static long on_request(struct bpf_dynptr *dynptr, void *ctx)
{
    struct drain_state *state = ctx;
    __u64 value = 0;

    state->count++;
    if (bpf_dynptr_read(&value, sizeof(value), dynptr, 0, 0)) {
        state->short_samples++;
        return 0;
    }
    state->sum += value;
    state->last = value;
    return 0;
}

SEC("raw_tp")
int drain_requests(void *ctx)
{
    struct drain_state state = {};
    __u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3;
    long drained;

    drained = bpf_user_ringbuf_drain(&REQUESTS, on_request, &state, 0);
    bpf_map_update_elem(&DRAINED, &k0, &state.count, BPF_ANY);
    bpf_map_update_elem(&DRAINED, &k1, &state.sum, BPF_ANY);
    bpf_map_update_elem(&DRAINED, &k2, &state.short_samples, BPF_ANY);
    bpf_map_update_elem(&DRAINED, &k3, &state.last, BPF_ANY);
    return drained;
}

char LICENSE[] SEC("license") = "GPL";
