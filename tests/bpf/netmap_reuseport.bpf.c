// SPDX-License-Identifier: GPL-2.0
/* SkReuseport with a ReusePortSockArray (tests/kernel/test_net_maps.py).
 *
 * `select_by_first_byte` hands each UDP datagram to the socket at SOCKETS[first payload byte];
 * when that index holds no socket the datagram is dropped.  COUNTS[0] counts the runs.
 */
#include <linux/bpf.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} SOCKETS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} COUNTS SEC(".maps");

SEC("sk_reuseport")
int select_by_first_byte(struct sk_reuseport_md *reuse)
{
    __u32 zero = 0, index = 0;
    __u8 first;
    __u64 *runs = bpf_map_lookup_elem(&COUNTS, &zero);

    if (runs)
        __sync_fetch_and_add(runs, 1);
    /* data starts at the UDP header */
    if (bpf_skb_load_bytes(reuse, sizeof(struct udphdr), &first, 1))
        return SK_DROP;
    index = first;
    return bpf_sk_select_reuseport(reuse, &SOCKETS, &index, 0) ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
