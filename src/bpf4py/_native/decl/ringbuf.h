/* bpf4py's ring buffer consumer (csrc/ringbuf.c): libbpf's struct ring_buffer on one
 * BPF_MAP_TYPE_RINGBUF map, with a sample callback that collects each batch of records in C
 * (batch.buf[0:batch.len], see batch.h). */

struct bpf4py_ringbuf {
    struct bpf4py_batch batch;
    ...;
};

/* NULL with errno set when libbpf cannot map the ring (not a ring buffer, no memory). */
struct bpf4py_ringbuf *bpf4py_ringbuf_new(int map_fd);
void bpf4py_ringbuf_free(struct bpf4py_ringbuf *r);
/* Consume up to max_records (<= INT_MAX) records without waiting: the number collected in
 * batch, or -errno. */
int bpf4py_ringbuf_drain(struct bpf4py_ringbuf *r, size_t max_records);
