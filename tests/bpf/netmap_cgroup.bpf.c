// SPDX-License-Identifier: GPL-2.0
/* CgroupArray with bpf_current_task_under_cgroup (tests/kernel/test_net_maps.py).
 *
 * `count_by_cgroup` (cgroup_skb egress) counts the IPv4 UDP packets to the global `port` sent
 * by tasks under the cgroup at CGROUPS[0] into COUNTS[0], and the others into COUNTS[1].
 * (cgroup_skb programs cannot call bpf_skb_under_cgroup: the verifier refuses it, only tc
 * programs have it.)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 port = 0;    /* host byte order */

struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} CGROUPS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} COUNTS SEC(".maps");

SEC("cgroup_skb/egress")
int count_by_cgroup(struct __sk_buff *skb)
{
    struct iphdr ip;
    struct udphdr udp;
    __u32 slot;
    __u64 *v;

    if (!port || skb->protocol != bpf_htons(ETH_P_IP))
        return 1;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP)
        return 1;
    if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)) || udp.dest != bpf_htons(port))
        return 1;
    /* 1: under CGROUPS[0]; 0: not; < 0: the index holds no cgroup.  Egress runs in the
     * sending task, so the current task is the sender. */
    slot = bpf_current_task_under_cgroup(&CGROUPS, 0) == 1 ? 0 : 1;
    v = bpf_map_lookup_elem(&COUNTS, &slot);
    if (v)
        __sync_fetch_and_add(v, 1);
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
