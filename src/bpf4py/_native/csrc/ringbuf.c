/* Ring buffer batches.  libbpf calls the sample callback once per record; calling Python per
 * record would cost far more than the record.  So the callback appends each record to one
 * growing buffer laid out as a marshal stream of a list of bytes -- '[' + int32 count, then
 * 's' + int32 length + the bytes for each record -- and Python turns a whole batch into a
 * list of bytes with one marshal.loads() call.  The buffer keeps its capacity between batches
 * and is freed with the consumer. */
#define BPF4PY_RB_ITEM_HDR 5          /* type code + int32 (little-endian) */
#define BPF4PY_RB_MIN_CAP (64 * 1024)

struct bpf4py_ringbuf {
    struct ring_buffer *rb;
    unsigned char *buf;
    size_t len;
    size_t cap;
    size_t count;
};

static void bpf4py_put_le32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static int bpf4py_ringbuf_reserve(struct bpf4py_ringbuf *r, size_t need)
{
    size_t cap = r->cap ? r->cap : BPF4PY_RB_MIN_CAP;
    unsigned char *buf;

    if (r->len + need <= r->cap)
        return 0;
    while (cap < r->len + need)
        cap *= 2;
    buf = realloc(r->buf, cap);
    if (!buf)
        return -ENOMEM;
    r->buf = buf;
    r->cap = cap;
    return 0;
}

static int bpf4py_ringbuf_sample(void *ctx, void *data, size_t size)
{
    struct bpf4py_ringbuf *r = ctx;
    unsigned char *p;

    if (bpf4py_ringbuf_reserve(r, BPF4PY_RB_ITEM_HDR + size))
        return -ENOMEM;
    p = r->buf + r->len;
    p[0] = 's';
    bpf4py_put_le32(p + 1, size);
    memcpy(p + BPF4PY_RB_ITEM_HDR, data, size);
    r->len += BPF4PY_RB_ITEM_HDR + size;
    r->count++;
    return 0;
}

static void bpf4py_ringbuf_free(struct bpf4py_ringbuf *r)
{
    if (!r)
        return;
    ring_buffer__free(r->rb);
    free(r->buf);
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

    r->len = 0;
    r->count = 0;
    if (bpf4py_ringbuf_reserve(r, BPF4PY_RB_ITEM_HDR))
        return -ENOMEM;
    r->buf[0] = '[';
    r->len = BPF4PY_RB_ITEM_HDR;
    ret = ring_buffer__consume_n(r->rb, max_records);
    bpf4py_put_le32(r->buf + 1, r->count);
    return ret < 0 ? ret : (int)r->count;
}
