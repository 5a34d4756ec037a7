/* btf.h: reading an object's BTF (global variables, map key/value types). */

struct btf;

struct btf_type {
    __u32 name_off;
    __u32 info;
    union {
        __u32 size;
        __u32 type;
    };
};

struct btf_var_secinfo {
    __u32 type;
    __u32 offset;
    __u32 size;
};

#define BTF_KIND_VAR ...
#define BTF_KIND_DATASEC ...

struct btf *bpf_object__btf(const struct bpf_object *obj);
__u32 btf__type_cnt(const struct btf *btf);
__s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind);
const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id);
const char *btf__name_by_offset(const struct btf *btf, __u32 offset);
