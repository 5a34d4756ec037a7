/* bpf.h: thin wrappers of the bpf(2) commands. */

struct bpf_map_create_opts {
    size_t sz;
    __u32 btf_fd;
    __u32 btf_key_type_id;
    __u32 btf_value_type_id;
    __u32 inner_map_fd;
    __u32 map_flags;
    __u64 map_extra;
    ...;
};

int bpf_map_create(enum bpf_map_type map_type, const char *map_name, __u32 key_size,
                   __u32 value_size, __u32 max_entries, const struct bpf_map_create_opts *opts);
int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags);
int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value);
int bpf_map_delete_elem(int fd, const void *key);
int bpf_map_get_next_key(int fd, const void *key, void *next_key);
int bpf_map_freeze(int fd);

int bpf_obj_pin(int fd, const char *pathname);
int bpf_obj_get(const char *pathname);

int bpf_prog_attach(int prog_fd, int attachable_fd, enum bpf_attach_type type,
                    unsigned int flags);
int bpf_prog_detach2(int prog_fd, int attachable_fd, enum bpf_attach_type type);

struct bpf_link_create_opts {
    size_t sz;
    __u32 flags;
    ...;
};
int bpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type attach_type,
                    const struct bpf_link_create_opts *opts);
int bpf_link_detach(int link_fd);

struct bpf_test_run_opts {
    size_t sz;
    const void *data_in;
    void *data_out;
    __u32 data_size_in;
    __u32 data_size_out;
    const void *ctx_in;
    void *ctx_out;
    __u32 ctx_size_in;
    __u32 ctx_size_out;
    __u32 retval;
    int repeat;
    __u32 duration;
    __u32 flags;
    __u32 cpu;
    __u32 batch_size;
    ...;
};
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts);

int bpf_prog_get_next_id(__u32 start_id, __u32 *next_id);
int bpf_map_get_next_id(__u32 start_id, __u32 *next_id);
int bpf_link_get_next_id(__u32 start_id, __u32 *next_id);
int bpf_prog_get_fd_by_id(__u32 id);
int bpf_map_get_fd_by_id(__u32 id);
int bpf_link_get_fd_by_id(__u32 id);
int bpf_prog_get_info_by_fd(int prog_fd, struct bpf_prog_info *info, __u32 *info_len);
int bpf_map_get_info_by_fd(int map_fd, struct bpf_map_info *info, __u32 *info_len);
int bpf_link_get_info_by_fd(int link_fd, struct bpf_link_info *info, __u32 *info_len);
int bpf_enable_stats(enum bpf_stats_type type);

/* Batch operations (Linux 5.6). */
struct bpf_map_batch_opts {
    size_t sz;
    __u64 elem_flags;
    __u64 flags;
    ...;
};
int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
                         __u32 *count, const struct bpf_map_batch_opts *opts);
int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys,
                                    void *values, __u32 *count,
                                    const struct bpf_map_batch_opts *opts);
int bpf_map_update_batch(int fd, const void *keys, const void *values, __u32 *count,
                         const struct bpf_map_batch_opts *opts);
