/* A batch of records handed to Python in one piece.  libbpf calls a reader's callback once per
 * record; calling Python per record would cost far more than the record.  So the callback
 * appends each record to one growing buffer laid out as a marshal stream of a list of bytes --
 * '[' + int32 count, then 's' + int32 length + the bytes for each record -- and Python turns
 * a whole batch into a list of bytes with one marshal.loads() call (_native/batch.py).  The
 * buffer keeps its capacity between batches and is freed with its reader. */
#define BPF4PY_BATCH_ITEM_HDR 5       /* type code + int32 (little-endian) */
#define BPF4PY_BATCH_MIN_CAP (64 * 1024)

struct bpf4py_batch {
    unsigned char *buf;
    size_t len;
    size_t cap;
    size_t count;
};

static void bpf4py_batch_le32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static int bpf4py_batch_reserve(struct bpf4py_batch *b, size_t need)
{
    size_t cap = b->cap ? b->cap : BPF4PY_BATCH_MIN_CAP;
    unsigned char *buf;

    if (b->len + need <= b->cap)
        return 0;
    while (cap < b->len + need)
        cap *= 2;
    buf = realloc(b->buf, cap);
    if (!buf)
        return -ENOMEM;
    b->buf = buf;
    b->cap = cap;
    return 0;
}

/* Start an empty batch (the list header); 0 or -ENOMEM. */
static int bpf4py_batch_begin(struct bpf4py_batch *b)
{
    b->len = 0;
    b->count = 0;
    if (bpf4py_batch_reserve(b, BPF4PY_BATCH_ITEM_HDR))
        return -ENOMEM;
    b->buf[0] = '[';
    b->len = BPF4PY_BATCH_ITEM_HDR;
    return 0;
}

/* Append one record; 0 or -ENOMEM. */
static int bpf4py_batch_add(struct bpf4py_batch *b, const void *data, size_t size)
{
    unsigned char *p;

    if (bpf4py_batch_reserve(b, BPF4PY_BATCH_ITEM_HDR + size))
        return -ENOMEM;
    p = b->buf + b->len;
    p[0] = 's';
    bpf4py_batch_le32(p + 1, size);
    memcpy(p + BPF4PY_BATCH_ITEM_HDR, data, size);
    b->len += BPF4PY_BATCH_ITEM_HDR + size;
    b->count++;
    return 0;
}

/* Close the batch begun by bpf4py_batch_begin (write its count); buf[0:len] is then ready. */
static void bpf4py_batch_end(struct bpf4py_batch *b)
{
    bpf4py_batch_le32(b->buf + 1, b->count);
}

static void bpf4py_batch_free(struct bpf4py_batch *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = b->count = 0;
}
