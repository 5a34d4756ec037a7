/* btf_types.h: walking BTF types (bpf4py.btf, the BTF map codecs) -- the records that follow
 * a struct btf_type, and the libbpf calls that open, size and free a struct btf.
 * (struct btf, struct btf_type, BTF_KIND_VAR/DATASEC and the lookups are in btf.h.) */

struct btf_member {
    __u32 name_off;
    __u32 type;
    __u32 offset;
};

struct btf_array {
    __u32 type;
    __u32 index_type;
    __u32 nelems;
};

struct btf_enum {
    __u32 name_off;
    __s32 val;
};

struct btf_enum64 {
    __u32 name_off;
    __u32 val_lo32;
    __u32 val_hi32;
};

struct btf_param {
    __u32 name_off;
    __u32 type;
};

struct btf_var {
    __u32 linkage;
};

struct btf_decl_tag {
    __s32 component_idx;
};

#define BTF_KIND_INT ...
#define BTF_KIND_PTR ...
#define BTF_KIND_ARRAY ...
#define BTF_KIND_STRUCT ...
#define BTF_KIND_UNION ...
#define BTF_KIND_ENUM ...
#define BTF_KIND_FWD ...
#define BTF_KIND_TYPEDEF ...
#define BTF_KIND_VOLATILE ...
#define BTF_KIND_CONST ...
#define BTF_KIND_RESTRICT ...
#define BTF_KIND_FUNC ...
#define BTF_KIND_FUNC_PROTO ...
#define BTF_KIND_FLOAT ...
#define BTF_KIND_DECL_TAG ...
#define BTF_KIND_TYPE_TAG ...
#define BTF_KIND_ENUM64 ...

enum btf_endianness { BTF_LITTLE_ENDIAN, BTF_BIG_ENDIAN, ... };

/* NULL with errno set on failure (libbpf 1.x). */
struct btf *btf__new(const void *data, __u32 size);
struct btf *btf__parse(const char *path, struct btf_ext **btf_ext);
struct btf *btf__load_vmlinux_btf(void);
struct btf *btf__load_from_kernel_by_id(__u32 id);
void btf__free(struct btf *btf);

__s32 btf__find_by_name(const struct btf *btf, const char *type_name);
__s64 btf__resolve_size(const struct btf *btf, __u32 type_id);
size_t btf__pointer_size(const struct btf *btf);
enum btf_endianness btf__endianness(const struct btf *btf);
const void *btf__raw_data(const struct btf *btf, __u32 *size);
