// SPDX-License-Identifier: GPL-2.0
/* Cases that break naive loaders: a global (non-inlined) function that needs BTF func info,
 * globals in .rodata/.data/.bss, several programs of one object loaded at different times. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 verdict_len = 0;   /* .rodata: overridden by the loader */
__u64 runs = 0;                         /* .bss */
__u32 multiplier = 3;                   /* .data */

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} RESULTS SEC(".maps");

/* A global function: verified on its own, called through BTF func info. */
__attribute__((noinline)) int scaled_len(struct __sk_buff *skb)
{
    if (!skb)
        return 0;
    return skb->len * multiplier;
}

SEC("socket")
int uses_global_func(struct __sk_buff *skb)
{
    __u32 key = 0;
    __u64 value = scaled_len(skb);

    bpf_map_update_elem(&RESULTS, &key, &value, BPF_ANY);
    __sync_fetch_and_add(&runs, 1);
    return verdict_len ? verdict_len : skb->len;
}

SEC("socket")
int second_program(struct __sk_buff *skb)
{
    __u32 key = 1;
    __u64 value = 0xfeed;

    bpf_map_update_elem(&RESULTS, &key, &value, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
