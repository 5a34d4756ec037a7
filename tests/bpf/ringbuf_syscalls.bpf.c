// SPDX-License-Identifier: GPL-2.0
/* A ring buffer fed by a tracepoint on a syscall the test makes: one record per getppid(2)
 * of the test's own process, carrying a sequence number and the tgid. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid = 0;
const volatile __s64 target_nr = -1;

struct event {
    __u64 seq;
    __u32 tgid;
    __u32 nr;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} EVENTS SEC(".maps");

__u64 next_seq = 0;

SEC("raw_tracepoint/sys_enter")
int on_getppid(struct bpf_raw_tracepoint_args *ctx)
{
    struct event *e;

    if (bpf_get_current_pid_tgid() >> 32 != target_tgid || (__s64)ctx->args[1] != target_nr)
        return 0;
    e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
    if (!e)
        return 0;
    e->seq = __sync_fetch_and_add(&next_seq, 1);
    e->tgid = target_tgid;
    e->nr = (__u32)target_nr;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
