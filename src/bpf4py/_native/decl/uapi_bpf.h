/* linux/bpf.h (UAPI) and linux/types.h: the kernel types and enums libbpf's headers use.
 * Enumerations end in "..." so that the compiler, not this file, supplies the values. */

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;

struct bpf_insn { ...; };

struct bpf_func_info {
    __u32 insn_off;
    __u32 type_id;
};

struct bpf_line_info {
    __u32 insn_off;
    __u32 file_name_off;
    __u32 line_off;
    __u32 line_col;
};

enum bpf_prog_type {
    BPF_PROG_TYPE_UNSPEC,
    BPF_PROG_TYPE_SOCKET_FILTER,
    BPF_PROG_TYPE_SCHED_CLS,
    BPF_PROG_TYPE_SCHED_ACT,
    BPF_PROG_TYPE_XDP,
    BPF_PROG_TYPE_CGROUP_SKB,
    BPF_PROG_TYPE_SK_SKB,
    BPF_PROG_TYPE_SK_MSG,
    ...
};

enum bpf_map_type {
    BPF_MAP_TYPE_UNSPEC,
    BPF_MAP_TYPE_HASH,
    BPF_MAP_TYPE_ARRAY,
    BPF_MAP_TYPE_PROG_ARRAY,
    BPF_MAP_TYPE_SOCKMAP,
    BPF_MAP_TYPE_SOCKHASH,
    ...
};

enum bpf_attach_type {
    BPF_CGROUP_INET_INGRESS,
    BPF_CGROUP_INET_EGRESS,
    BPF_SK_SKB_STREAM_PARSER,
    BPF_SK_SKB_STREAM_VERDICT,
    BPF_SK_SKB_VERDICT,
    BPF_SK_MSG_VERDICT,
    ...
};

enum bpf_link_type { BPF_LINK_TYPE_UNSPEC, ... };

enum bpf_stats_type { BPF_STATS_RUN_TIME, ... };

#define BPF_OBJ_NAME_LEN 16
#define BPF_TAG_SIZE 8

#define BPF_ANY ...
#define BPF_NOEXIST ...
#define BPF_EXIST ...
#define BPF_F_LOCK ...

#define BPF_F_ALLOW_OVERRIDE ...
#define BPF_F_ALLOW_MULTI ...
#define BPF_F_REPLACE ...

struct bpf_prog_info {
    __u32 type;
    __u32 id;
    __u8  tag[8];
    __u32 jited_prog_len;
    __u32 xlated_prog_len;
    __u64 load_time;
    __u32 created_by_uid;
    __u32 nr_map_ids;
    __u64 map_ids;
    char name[16];
    __u32 ifindex;
    __u32 btf_id;
    __u64 run_time_ns;
    __u64 run_cnt;
    __u64 recursion_misses;
    __u32 verified_insns;
    ...;
};

struct bpf_map_info {
    __u32 type;
    __u32 id;
    __u32 key_size;
    __u32 value_size;
    __u32 max_entries;
    __u32 map_flags;
    char  name[16];
    __u32 ifindex;
    __u32 btf_id;
    __u32 btf_key_type_id;
    __u32 btf_value_type_id;
    __u64 map_extra;
    ...;
};

struct bpf_link_info {
    __u32 type;
    __u32 id;
    __u32 prog_id;
    ...;
};
