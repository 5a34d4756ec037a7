/* libbpf's producer side of a BPF_MAP_TYPE_USER_RINGBUF map (libbpf.h, Linux 6.1). */

struct user_ring_buffer;
struct user_ring_buffer_opts {
    size_t sz;
};

/* NULL with errno set on failure. */
struct user_ring_buffer *user_ring_buffer__new(int map_fd,
                                               const struct user_ring_buffer_opts *opts);
/* NULL with errno set: ENOSPC (full), E2BIG (larger than the ring), ... */
void *user_ring_buffer__reserve(struct user_ring_buffer *rb, __u32 size);
void user_ring_buffer__submit(struct user_ring_buffer *rb, void *sample);
void user_ring_buffer__discard(struct user_ring_buffer *rb, void *sample);
void user_ring_buffer__free(struct user_ring_buffer *rb);
