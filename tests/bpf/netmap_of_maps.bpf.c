// SPDX-License-Identifier: GPL-2.0
/* ArrayOfMaps and HashOfMaps (tests/kernel/test_net_maps.py).
 *
 * `write_inner` (XDP, driven with test_run) adds the frame's length to entry 0 of the inner
 * array at OUTER_ARRAY[0] and to entry 1 of the inner hash at OUTER_HASH[7]; it returns
 * XDP_PASS (2) when it found both inner maps, else XDP_ABORTED (0).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner_hash {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner_array FIRST_INNER SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner_array);
} OUTER_ARRAY SEC(".maps") = {
    .values = { [1] = &FIRST_INNER },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner_hash);
} OUTER_HASH SEC(".maps");

SEC("xdp")
int write_inner(struct xdp_md *ctx)
{
    __u32 zero = 0, one = 1, seven = 7;
    __u64 len = ctx->data_end - ctx->data, *v;
    void *array = bpf_map_lookup_elem(&OUTER_ARRAY, &zero);
    void *hash = bpf_map_lookup_elem(&OUTER_HASH, &seven);

    if (!array || !hash)
        return XDP_ABORTED;
    v = bpf_map_lookup_elem(array, &zero);
    if (v)
        __sync_fetch_and_add(v, len);
    v = bpf_map_lookup_elem(hash, &one);
    if (v)
        __sync_fetch_and_add(v, len);
    else
        bpf_map_update_elem(hash, &one, &len, BPF_NOEXIST);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
