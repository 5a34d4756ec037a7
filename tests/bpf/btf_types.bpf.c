// SPDX-License-Identifier: GPL-2.0
/* Maps whose keys and values are C types with every BTF shape bpf4py decodes: nested structs,
 * arrays of structs and scalars, C strings, byte arrays, a named enum, bitfields (one of them
 * an enum, one signed), a named union, an anonymous union and an anonymous struct.
 *
 * write_record  stores a known record at RECORDS[{7, 80, 6}]  (Python checks the decoding);
 * check_record  returns 0 when RECORDS[{1, 443, 17}] holds exactly what the Python test wrote
 *               (from dicts), else the number of the first check that failed;
 * fill_flows    run N times (test_run repeat) fills FLOWS with N entries derived from a counter;
 * read_counters returns STATS[0].packets + STATS[0].delta (per-CPU, written by Python). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 1, GREEN = 2, BLUE = 4 };

struct point {
    __s32 x;
    __s32 y;
};

struct flags {
    __u32 kind : 3;
    __s32 delta : 5;
    __u32 big : 20;
    enum color shade : 4;
};

union payload {
    __u64 raw;
    struct point pt;
    char tag[8];
};

struct record {
    __u32 id;
    enum color color;
    struct point pts[3];
    __u16 ports[4];
    char name[16];
    __u8 mac[6];
    struct flags flags;
    union payload payload;
    union {
        __u32 as_u32;
        __u8 as_bytes[4];
    };
    struct {
        __u16 lo;
        __u16 hi;
    };
    _Bool valid;
    __s64 total;
};

struct record_key {
    __u32 tenant;
    __u16 port;
    __u8 proto;
    __u8 pad;
};

struct flow_stats {
    __u64 packets;
    __u64 bytes;
    __s32 delta;
    enum color color;
    __u16 ports[2];
    char label[6];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, struct record_key);
    __type(value, struct record);
} RECORDS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct flow_stats);
} FLOWS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct flow_stats);
} STATS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __s32);
    __type(value, enum color);
} SIGNED SEC(".maps");

/* No BTF types for key and value: only their sizes. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __uint(key_size, 4);
    __uint(value_size, 12);
} RAW SEC(".maps");

__u32 fills = 0;   /* .bss */

SEC("socket")
int write_record(struct __sk_buff *skb)
{
    struct record_key key = {.tenant = 7, .port = 80, .proto = 6};
    struct record r = {};

    r.id = 42;
    r.color = BLUE;
    for (int i = 0; i < 3; i++) {
        r.pts[i].x = i + 1;
        r.pts[i].y = -(i + 1);
    }
    for (int i = 0; i < 4; i++)
        r.ports[i] = 10 * (i + 1);
    __builtin_memcpy(r.name, "kernel", 7);
    for (int i = 0; i < 6; i++)
        r.mac[i] = i + 1;
    r.flags.kind = 5;
    r.flags.delta = -3;
    r.flags.big = 0xABCDE;
    r.flags.shade = GREEN;
    r.payload.pt.x = 7;
    r.payload.pt.y = -7;
    r.as_u32 = 0x01020304;
    r.lo = 0x1111;
    r.hi = 0x2222;
    r.valid = 1;
    r.total = -123456789012LL;
    bpf_map_update_elem(&RECORDS, &key, &r, BPF_ANY);
    return 0;
}

SEC("socket")
int check_record(struct __sk_buff *skb)
{
    struct record_key key = {.tenant = 1, .port = 443, .proto = 17};
    struct record *r = bpf_map_lookup_elem(&RECORDS, &key);

    if (!r)
        return 1;
    if (r->id != 99 || r->color != RED)
        return 2;
    if (r->pts[0].x != -10 || r->pts[0].y != 20 || r->pts[1].x != 0 || r->pts[2].y != 5)
        return 3;
    if (r->ports[0] != 65535 || r->ports[1] != 1 || r->ports[2] != 0 || r->ports[3] != 0)
        return 4;
    if (r->name[0] != 'p' || r->name[1] != 'y' || r->name[2] != 0)
        return 5;
    if (r->mac[0] != 0xAA || r->mac[5] != 0xFF)
        return 6;
    if (r->flags.kind != 7 || r->flags.delta != -16 || r->flags.big != 0xFFFFF ||
        r->flags.shade != BLUE)
        return 7;
    if (r->payload.raw != 0x1122334455667788ULL)
        return 8;
    if (r->as_bytes[0] != 0xEE || r->as_bytes[3] != 0)
        return 9;
    if (r->lo != 3 || r->hi != 4)
        return 10;
    if (!r->valid || r->total != -1)
        return 11;
    return 0;
}

SEC("socket")
int fill_flows(struct __sk_buff *skb)
{
    __u32 n = fills;   /* test_run repeats on one CPU, one run at a time */
    struct flow_stats s = {};

    fills = n + 1;

    s.packets = n;
    s.bytes = (__u64)n * 1500;
    s.delta = -(__s32)n;
    s.color = (n % 3 == 0) ? RED : (n % 3 == 1) ? GREEN : BLUE;
    s.ports[0] = n & 0xFFFF;
    s.ports[1] = 7;
    s.label[0] = 'f';
    s.label[1] = '0' + n % 10;
    bpf_map_update_elem(&FLOWS, &n, &s, BPF_ANY);
    return 0;
}

SEC("socket")
int read_counters(struct __sk_buff *skb)
{
    __u32 key = 0;
    struct flow_stats *s = bpf_map_lookup_elem(&STATS, &key);

    if (!s)
        return -1;
    return s->packets + s->delta;
}

char LICENSE[] SEC("license") = "GPL";
