/* Ring buffer batches: libbpf's struct ring_buffer on one BPF_MAP_TYPE_RINGBUF map, with a
 * sample callback that collects each record into a bpf4py_batch (batch.c). */

struct bpf4py_ringbuf {
    struct bpf4py_batch batch;
    struct ring_buffer *rb;
};

static int bpf4py_ringbuf_sample(void *ctx, void *data, size_t size)
{
    struct bpf4py_ringbuf *r = ctx;

    return bpf4py_batch_add(&r->batch, data, size);
}

static void bpf4py_ringbuf_free(struct bpf4py_ringbuf *r)
{
    if (!r)
        return;
    ring_buffer__free(r->rb);
    bpf4py_batch_free(&r->batch);
    free(r);
}

static struct bpf4py_ringbuf *bpf4py_ringbuf_new(int map_fd)
{
    struct bpf4py_ringbuf *r = calloc(1, sizeof(*r));
    int err;

    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->rb = ring_buffer__new(map_fd, bpf4py_ringbuf_sample, r, NULL);
    if (!r->rb) {
        err = errno;
        free(r);
        errno = err;
        return NULL;
    }
    return r;
}

static int bpf4py_ringbuf_drain(struct bpf4py_ringbuf *r, size_t max_records)
{
    int ret;

    if (bpf4py_batch_begin(&r->batch))
        return -ENOMEM;
    ret = ring_buffer__consume_n(r->rb, max_records);
    bpf4py_batch_end(&r->batch);
    return ret < 0 ? ret : (int)r->batch.count;
}
