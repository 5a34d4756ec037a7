/* Load one program of a prepared object (csrc/prog_load.c): every bpf_prog_load argument
 * besides these is read from libbpf's object in C.  Returns the descriptor or a negative
 * errno; `log_buf` may be NULL with log_level 0. */
int bpf4py_prog_load(struct bpf_object *obj, struct bpf_program *prog, const char *license,
                     __u32 attach_btf_id, __u32 log_level, char *log_buf, __u32 log_size);
