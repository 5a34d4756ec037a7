/* libbpf.h: objects, programs, maps, logging, version and probes. */

struct bpf_object;
struct bpf_program;
struct bpf_map;

enum libbpf_print_level { LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG };

struct bpf_object_open_opts {
    size_t sz;
    const char *object_name;
    const char *pin_root_path;
    const char *kconfig;
    const char *btf_custom_path;
    char *kernel_log_buf;
    size_t kernel_log_size;
    __u32 kernel_log_level;
    ...;
};

__u32 libbpf_major_version(void);
__u32 libbpf_minor_version(void);
const char *libbpf_version_string(void);
int libbpf_strerror(int err, char *buf, size_t size);
int libbpf_num_possible_cpus(void);

const char *libbpf_bpf_prog_type_str(enum bpf_prog_type t);
const char *libbpf_bpf_map_type_str(enum bpf_map_type t);
const char *libbpf_bpf_attach_type_str(enum bpf_attach_type t);
const char *libbpf_bpf_link_type_str(enum bpf_link_type t);

int libbpf_find_vmlinux_btf_id(const char *name, enum bpf_attach_type attach_type);

int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void *opts);
int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void *opts);

struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
                                        const struct bpf_object_open_opts *opts);
int bpf_object__prepare(struct bpf_object *obj);
void bpf_object__close(struct bpf_object *obj);
const char *bpf_object__name(const struct bpf_object *obj);
int bpf_object__btf_fd(const struct bpf_object *obj);
unsigned int bpf_object__kversion(const struct bpf_object *obj);
struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
                                             struct bpf_program *prog);
struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map);

const char *bpf_program__name(const struct bpf_program *prog);
const char *bpf_program__section_name(const struct bpf_program *prog);
enum bpf_prog_type bpf_program__type(const struct bpf_program *prog);
enum bpf_attach_type bpf_program__expected_attach_type(const struct bpf_program *prog);
__u32 bpf_program__flags(const struct bpf_program *prog);
const struct bpf_insn *bpf_program__insns(const struct bpf_program *prog);
size_t bpf_program__insn_cnt(const struct bpf_program *prog);
struct bpf_func_info *bpf_program__func_info(const struct bpf_program *prog);
__u32 bpf_program__func_info_cnt(const struct bpf_program *prog);
struct bpf_line_info *bpf_program__line_info(const struct bpf_program *prog);
__u32 bpf_program__line_info_cnt(const struct bpf_program *prog);
int bpf_program__set_autoload(struct bpf_program *prog, bool autoload);

const char *bpf_map__name(const struct bpf_map *map);
int bpf_map__fd(const struct bpf_map *map);
enum bpf_map_type bpf_map__type(const struct bpf_map *map);
__u32 bpf_map__key_size(const struct bpf_map *map);
__u32 bpf_map__value_size(const struct bpf_map *map);
__u32 bpf_map__max_entries(const struct bpf_map *map);
int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries);
__u32 bpf_map__map_flags(const struct bpf_map *map);
__u32 bpf_map__btf_key_type_id(const struct bpf_map *map);
__u32 bpf_map__btf_value_type_id(const struct bpf_map *map);
bool bpf_map__is_internal(const struct bpf_map *map);
int bpf_map__set_pin_path(struct bpf_map *map, const char *path);
const char *bpf_map__pin_path(const struct bpf_map *map);
bool bpf_map__is_pinned(const struct bpf_map *map);
void *bpf_map__initial_value(const struct bpf_map *map, size_t *psize);
int bpf_map__set_initial_value(struct bpf_map *map, const void *data, size_t size);
