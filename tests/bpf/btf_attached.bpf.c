// SPDX-License-Identifier: GPL-2.0
/* Programs whose load names a kernel hook by BTF id: the loader must resolve it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 seen = 0;

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
    __sync_fetch_and_add(&seen, 1);
    return 0;
}

SEC("tp_btf/no_such_tracepoint_anywhere")
int BPF_PROG(bad_target)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
