// SPDX-License-Identifier: GPL-2.0
/* CgrpStorage (Linux 6.2) for the tracing/storage map tests: its own object, so that
 * trace_maps.bpf.c loads on kernels without cgroup local storage. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define F_CREATE 1                  /* BPF_LOCAL_STORAGE_GET_F_CREATE */

/* Set by the tests before load: the getppid syscall number. */
const volatile __s64 target_nr = -1;

/* --- CgrpStorage: getppid calls per cgroup v2 (any process) ---------------------------- */

struct {
    __uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u64);
} CGROUP_CALLS SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_cgroup_calls(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *task = bpf_get_current_task_btf();
    __u64 *calls;

    if ((__s64)ctx->args[1] != target_nr)
        return 0;
    calls = bpf_cgrp_storage_get(&CGROUP_CALLS, task->cgroups->dfl_cgrp, 0, F_CREATE);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
