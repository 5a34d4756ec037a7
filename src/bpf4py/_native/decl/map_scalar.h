/* Maps with unsigned 1/2/4/8-byte int keys and values (csrc/map_scalar.c): key and value
 * travel as integers, `shape` is key_size | value_size << 8.  lookup returns the value and
 * sets errno (0: found; EDOM: the key does not fit key_size; else the syscall's errno).
 * update (BPF_ANY) returns 0 or a negative errno (EDOM: a key or value that does not fit). */
__u64 bpf4py_lookup_scalar(int fd, __u64 key, __u32 shape);
int bpf4py_update_scalar(int fd, __u64 key, __u64 value, __u32 shape);
