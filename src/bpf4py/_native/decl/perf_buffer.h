/* libbpf's perf buffer (libbpf.h), the part bpf4py's reader calls from Python, and bpf4py's
 * reader on top of it (csrc/perf_buffer.c): one perf ring per CPU of a
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY map, samples collected in C as one batch. */
struct perf_buffer;

int perf_buffer__epoll_fd(const struct perf_buffer *pb);

struct bpf4py_perfbuf {
    struct bpf4py_batch batch;
    struct perf_buffer *pb;
    unsigned long long *lost;   /* per possible CPU */
    int ncpus;
    ...;
};

/* NULL with errno set when libbpf cannot open the buffers (not a perf event array, a page
 * count that is not a power of two, no memory, no permission). */
struct bpf4py_perfbuf *bpf4py_perfbuf_new(int map_fd, size_t page_cnt,
                                          unsigned int wakeup_events,
                                          unsigned int wakeup_bytes);
void bpf4py_perfbuf_free(struct bpf4py_perfbuf *r);
/* Consume up to max_records (<= INT_MAX) samples without waiting: the number collected in
 * batch, or -errno. */
int bpf4py_perfbuf_drain(struct bpf4py_perfbuf *r, size_t max_records);
