// SPDX-License-Identifier: GPL-2.0
/* A tracepoint program for the TracePoint tests: reads the tracepoint's own record. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* events/syscalls/sys_enter_getppid/format: 8 bytes of common fields (which programs may not
 * read), then int __syscall_nr. */
struct sys_enter_getppid {
    __u64 common;
    __s32 syscall_nr;
};

const volatile __u32 target_tgid = 0;

/* [0]: calls from target_tgid, [1]: the last __syscall_nr. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} GETPPID SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(struct sys_enter_getppid *ctx)
{
    __u32 k0 = 0, k1 = 1;
    __u64 nr = ctx->syscall_nr;
    __u64 *calls;

    if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
        return 0;
    calls = bpf_map_lookup_elem(&GETPPID, &k0);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    bpf_map_update_elem(&GETPPID, &k1, &nr, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
