// SPDX-License-Identifier: GPL-2.0
/* CO-RE: reads task_struct fields through relocations resolved against the running
 * kernel's BTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} TGID SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int record_tgid(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u32 key = 0, tgid = BPF_CORE_READ(task, tgid);

    bpf_map_update_elem(&TGID, &key, &tgid, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
