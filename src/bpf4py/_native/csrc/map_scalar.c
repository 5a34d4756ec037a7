/* Lookup and update of maps whose keys and values are unsigned ints of 1, 2, 4 or 8 bytes
 * (declared in decl/map_scalar.h).  Python passes the key and value as integers: no key
 * buffer to encode, no value buffer to allocate and decode on each `m[k]`.  Errors come back
 * in errno (cffi keeps it per thread, ffi.errno): 0 on success, EDOM when the key or value
 * does not fit its size (the caller then raises the error its codec gives), else what the
 * syscall set.  `shape` is key_size | value_size << 8: one argument converted instead of two
 * on the hottest call of the library.  Both use flags 0 (BPF_ANY); other flags take the
 * generic path. */
static int bpf4py_scalar_fits(__u64 v, __u32 size)
{
    return size >= 8 || (v >> (8 * size)) == 0;
}

static void bpf4py_scalar_store(void *p, __u64 v, __u32 size)
{
    switch (size) {
    case 1: *(__u8 *)p = (__u8)v; break;
    case 2: *(__u16 *)p = (__u16)v; break;
    case 4: *(__u32 *)p = (__u32)v; break;
    default: *(__u64 *)p = v; break;
    }
}

static __u64 bpf4py_scalar_load(const void *p, __u32 size)
{
    switch (size) {
    case 1: return *(const __u8 *)p;
    case 2: return *(const __u16 *)p;
    case 4: return *(const __u32 *)p;
    default: return *(const __u64 *)p;
    }
}

__u64 bpf4py_lookup_scalar(int fd, __u64 key, __u32 shape)
{
    __u32 key_size = shape & 0xff, value_size = shape >> 8;
    __u64 k, v;

    if (!bpf4py_scalar_fits(key, key_size)) {
        errno = EDOM;
        return 0;
    }
    bpf4py_scalar_store(&k, key, key_size);
    if (bpf_map_lookup_elem(fd, &k, &v))
        return 0;  /* errno set by the syscall */
    errno = 0;
    return bpf4py_scalar_load(&v, value_size);
}

int bpf4py_update_scalar(int fd, __u64 key, __u64 value, __u32 shape)
{
    __u32 key_size = shape & 0xff, value_size = shape >> 8;
    __u64 k, v;

    if (!bpf4py_scalar_fits(key, key_size) || !bpf4py_scalar_fits(value, value_size)) {
        errno = EDOM;
        return -EDOM;
    }
    bpf4py_scalar_store(&k, key, key_size);
    bpf4py_scalar_store(&v, value, value_size);
    return bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}
