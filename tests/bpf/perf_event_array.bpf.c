// SPDX-License-Identifier: GPL-2.0
/* Socket filters that send one record per packet through a perf event array, for the
 * PerfEventArray tests.  Every record carries a sequence number shared by all programs and
 * the CPU it was written on, so tests can check the order per CPU. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct record {
    __u64 seq;
    __u32 cpu;
    __u32 len;      /* skb->len */
    __u32 tail;     /* the packet's last 4 bytes (the end of the payload) */
    __u32 pad;
};

/* max_entries 0: libbpf sizes it to the possible CPUs. */
struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} EVENTS SEC(".maps");

/* Only the ring of CPU 0 can be opened: records written on other CPUs are rejected. */
struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 1);
} ONE_CPU SEC(".maps");

__u64 seq = 0;
__u64 failed = 0;   /* bpf_perf_event_output calls that failed (no ring, ring full) */

static __always_inline int output(struct __sk_buff *skb, void *map)
{
    struct record r = {};

    r.seq = __sync_fetch_and_add(&seq, 1);
    r.cpu = bpf_get_smp_processor_id();
    r.len = skb->len;
    if (skb->len >= 4)
        bpf_skb_load_bytes(skb, skb->len - 4, &r.tail, 4);
    if (bpf_perf_event_output(skb, map, BPF_F_CURRENT_CPU, &r, sizeof(r)))
        __sync_fetch_and_add(&failed, 1);
    return skb->len;
}

SEC("socket")
int output_record(struct __sk_buff *skb)
{
    return output(skb, &EVENTS);
}

SEC("socket")
int output_one_cpu(struct __sk_buff *skb)
{
    return output(skb, &ONE_CPU);
}

/* Records of 1 to 32 bytes: record n is (n % 32) + 1 bytes, byte i of it is (n + i) & 0xff. */
SEC("socket")
int output_varlen(struct __sk_buff *skb)
{
    __u8 buf[32];
    __u64 n = __sync_fetch_and_add(&seq, 1);
    __u32 size = (n % 32) + 1;

    for (int i = 0; i < 32; i++)
        buf[i] = (n + i) & 0xff;
    bpf_perf_event_output(skb, &EVENTS, BPF_F_CURRENT_CPU, buf, size & 63);
    return skb->len;
}

/* Puts struct record into the object's BTF, so readers can say typed("struct record"). */
const struct record *record_type __attribute__((unused));

char LICENSE[] SEC("license") = "GPL";
